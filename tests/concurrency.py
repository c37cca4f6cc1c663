"""Race-test harness: run jobs in threads, each on its own database connection, released together."""

import threading

from django.db import connection


def run_together(*jobs, barrier_timeout: float = 20, join_timeout: float = 60):
    """Run each job in its own thread with its own connection, all released at once by a barrier.
    Returns (results, errors), one slot per job; fails the test if a thread hangs."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)
    errors: list = [None] * len(jobs)

    def runner(i, job):
        try:
            connection.ensure_connection()  # connect before the barrier, so the release is simultaneous
            barrier.wait(timeout=barrier_timeout)
            results[i] = job()
        except Exception as exc:  # noqa: BLE001 - every failure is reported by the test
            errors[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=join_timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return results, errors
