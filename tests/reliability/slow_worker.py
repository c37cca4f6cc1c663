"""Test-only Celery worker entry point (never imported by the application).

    python -m tests.reliability.slow_worker

Runs `celery -A elearn worker` (prefork, one child) on the queue RELIABILITY_WORKER_QUEUE. When
RELIABILITY_RENDER_DELAY is set, certificate rendering first writes its pid to RELIABILITY_RENDER_MARKER
and then sleeps that many seconds, so a test can kill the worker in the middle of rendering. The slow
path is patched in here, in the test's worker process only; production code has no hook for it.
"""

import os
import time
from pathlib import Path


def slow_down_rendering(delay: float, marker: str) -> None:
    from courses.certificates import services as certificates

    real = certificates.render_pdf_bytes

    def slow_render(*args, **kwargs):
        if marker:
            Path(marker).write_text(str(os.getpid()))
        time.sleep(delay)
        return real(*args, **kwargs)

    certificates.render_pdf_bytes = slow_render


def main() -> None:
    import django

    django.setup()
    delay = float(os.environ.get("RELIABILITY_RENDER_DELAY") or 0)
    if delay > 0:
        slow_down_rendering(delay, os.environ.get("RELIABILITY_RENDER_MARKER", ""))
    from elearn.celery import app

    app.worker_main(
        [
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "--loglevel=INFO",
            "--without-mingle",
            "--without-gossip",
            "-Q",
            os.environ["RELIABILITY_WORKER_QUEUE"],
            "-n",
            os.environ.get("RELIABILITY_WORKER_NAME", "reliability@%h"),
        ]
    )


if __name__ == "__main__":
    main()
