"""PostgreSQL restarts while 16 clients autosave answers through a real gunicorn on production settings.
The PostgreSQL is the test's own throwaway cluster (fixture `postgres_server`), never the machine's.

- Every answer acknowledged with a 2xx is in the database afterwards (or a later save of the same
  question, since autosave keeps the latest answer).
- During the outage clients get 503 with Retry-After, never a 500 and never a dropped connection.
- The same gunicorn workers serve again after the restart: no process restart is needed.

The windows are decided by what the clients observe, not by sleeps: the outage begins once every
client has had saves acknowledged, and lasts until every client has been answered 503 for a save sent
after the server went down (bounded: a drill that never sees its outage fails, it does not pass).
"""

import contextlib
import threading
import time
from collections import Counter
from decimal import Decimal

import pytest

from accounts.tokens import issue_token
from quizzes import selectors, services
from quizzes.models import Answer
from tests.factories import UserFactory
from tests.quiz_content import make_quiz, q
from tests.quiz_helpers import flat_payloads
from tests.reliability.harness import (
    database_url_for_tests,
    gunicorn,
    postgres_stopped,
    production_env,
    wait_for,
)

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

CLIENTS = 16
QUESTIONS = 6
SAVES = QUESTIONS  # acknowledged saves per client before the outage and after it: every question once
BOUND = 120  # seconds: the most any phase may take before the drill fails


def numeric_bank():
    return [
        q(f"rel-num-{i}", "numeric", answer={"value": 1, "tolerance": 0}, unit="units")
        for i in range(QUESTIONS)
    ]


class Autosaver(threading.Thread):
    """One learner saving answers in a loop: every save sends a new, higher value for the next question."""

    def __init__(self, server, token: str, attempt_id: int, question_ids: list, stop: threading.Event):
        super().__init__(daemon=True)
        self.http = server.client(timeout=30, headers={"Authorization": f"Token {token}"})
        self.attempt_id = attempt_id
        self.question_ids = question_ids
        self.stop = stop
        self.log: list[tuple[float, int, int, int | None, str]] = []  # (time, qid, value, status, error)

    def run(self):
        value = 0
        while not self.stop.is_set():
            value += 1
            qid = self.question_ids[value % len(self.question_ids)]
            started = time.monotonic()
            try:
                reply = self.http.put(
                    f"/api/v1/attempts/{self.attempt_id}/answers/{qid}/", json_body={"value": value}
                )
                status, error = reply.status, ""
                if status == 503:
                    assert reply.headers.get("retry-after"), "a 503 without Retry-After"
                    assert reply.json()["code"] == "database_unavailable"
                    time.sleep(0.2)
            except Exception as exc:  # a dropped connection is recorded, and counts as a failure
                status, error = None, f"{type(exc).__name__}: {exc}"
                time.sleep(0.2)
            self.log.append((started, qid, value, status, error))

    def acked_after(self, moment: float) -> int:
        return sum(
            1 for t, _, _, status, _ in self.log if t >= moment and status is not None and status < 300
        )

    def refused_after(self, moment: float) -> int:
        """Saves sent at or after `moment` that were answered 503 (or failed: that fails the test later)."""
        return sum(1 for t, _, _, status, _ in self.log if t >= moment and status != 200)


@contextlib.contextmanager
def stopping(event: threading.Event):
    """The clients stop whatever happens (an assertion, a server that did not come back)."""
    try:
        yield
    finally:
        event.set()


def test_autosaves_acknowledged_before_during_and_after_a_postgres_restart_are_kept(
    tmp_path, static_root, postgres_server
):
    quiz = make_quiz(
        key="rel-restart", bank_key="rel-restart", questions=numeric_bank(), shuffle_questions=False
    )
    learners = []
    for _ in range(CLIENTS):
        user = UserFactory()
        attempt, _ = services.start_attempt(user=user, quiz=quiz)
        ids = [p["id"] for p in flat_payloads(selectors.attempt_for_learner(attempt))]
        learners.append((issue_token(user)[1], attempt.pk, ids))

    env = production_env(
        static_root=static_root, database_url=database_url_for_tests(), media_root=tmp_path / "media"
    )
    stop = threading.Event()
    with gunicorn(env, tmp_path) as server, stopping(stop):
        savers = [Autosaver(server, token, attempt_id, ids, stop) for token, attempt_id, ids in learners]
        for saver in savers:
            saver.start()
        start = time.monotonic()
        wait_for(
            lambda: all(s.acked_after(start) >= SAVES for s in savers),
            timeout=BOUND,
            what=f"every client having {SAVES} saves acknowledged before the outage",
        )
        pids_before = server.worker_pids()
        outage_began = time.monotonic()
        with postgres_stopped(postgres_server):
            down = time.monotonic()
            # The outage lasts until every client has been refused a save it sent while it was down.
            wait_for(
                lambda: all(s.refused_after(down) >= 1 for s in savers),
                timeout=BOUND,
                what="every client answered 503 for a save sent during the outage",
            )
        back = time.monotonic()
        # Recovery: every client gets every question acknowledged again after the restart, in bounded time.
        deadline = back + BOUND
        while time.monotonic() < deadline and not all(s.acked_after(back) >= SAVES for s in savers):
            time.sleep(0.1)
        stop.set()
        for saver in savers:
            saver.join(timeout=60)
        assert not any(s.is_alive() for s in savers)
        recovered = [s.acked_after(back) for s in savers]
        timings = f"stop {down - outage_began:.1f} s, down {back - down:.1f} s, recovery {time.monotonic() - back:.1f} s"
        pids_after = server.worker_pids()
        served_by = server.served_by("PUT")
        master_alive = server.proc.poll() is None
        server_log = server.log_text()

    statuses = Counter(status for s in savers for _, _, _, status, _ in s.log)
    errors = [e for s in savers for *_, e in s.log if e]
    during = Counter(
        status for s in savers for t, _, _, status, _ in s.log if down <= t < back
    )  # sent while it was down
    print(
        f"\nstatuses {dict(statuses)}; during the outage {dict(during)}; saves after restart {recovered}; {timings}"
    )
    assert not errors, f"connections dropped instead of a 503: {errors[:5]}"
    assert set(statuses) <= {200, 503}, f"unexpected statuses {statuses}\n{server_log[-4000:]}"
    assert statuses[503] > 0, "no client saw the outage: the test did not test anything"
    assert during[503] >= CLIENTS, during
    assert all(n >= SAVES for n in recovered), f"some clients never recovered: {recovered}"
    # Recovered without a restart: the same master and the same two workers served throughout.
    assert master_alive and len(pids_before) == 2
    assert pids_after == pids_before, f"workers were restarted: {pids_before} -> {pids_after}"
    assert served_by <= pids_before

    # Every acknowledged answer is in the database (or a later save of the same question).
    checked = 0
    for saver in savers:
        stored = {
            a.question_id: Decimal(str(a.response["value"]))
            for a in Answer.objects.filter(attempt_id=saver.attempt_id)
        }
        for qid in saver.question_ids:
            acked = [v for _, question, v, status, _ in saver.log if question == qid and status == 200]
            sent = {v for _, question, v, _, _ in saver.log if question == qid}
            if not acked:
                continue
            checked += 1
            assert qid in stored, f"attempt {saver.attempt_id}: acknowledged answer to {qid} is missing"
            assert stored[qid] >= max(acked), (saver.attempt_id, qid, stored[qid], max(acked))
            assert int(stored[qid]) in sent
    assert checked == CLIENTS * QUESTIONS
