"""Scale-out on the production shape: two gunicorn servers (two app servers behind a load balancer), two
Celery workers and one beat, against one PostgreSQL and one Redis. Learners take their final exam through
both servers at once (autosaves alternate between the servers, submits too); mid-run one server and one
worker are killed with SIGKILL.

The load balancer is played by the clients: a request that fails on a dead server (connection refused or
reset) is sent again to the other one, as a load balancer's retry or the learner's next autosave would.
Only answers the servers acknowledged (200) count as saved.

Nothing is lost: every acknowledged save is in the database (the last one of each question), every
attempt is graded exactly once (one grading, one audit event, the score of the answers saved), and every
completed enrollment gets exactly one certificate: the killed worker's tasks are redelivered (acks_late,
visibility timeout 5 s) to the surviving worker. Redis is the test run's own throwaway server; only
processes this test started are killed.
"""

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection

from accounts.tokens import issue_token
from core.models import AuditEvent
from courses.enrollment import services
from courses.models import Certificate, CertificateSequence, Enrollment
from quizzes.models import Answer, Attempt, Question
from tests.course_helpers import load_tiny, read_all_lessons, take_quiz
from tests.quiz_content import correct_response
from tests.quiz_helpers import flat_payloads, wrong_response
from tests.reliability.harness import (
    ROOT,
    celery_worker,
    database_url_for_tests,
    gunicorn,
    log_of,
    production_env,
    send,
    stop_process_group,
    user_for_server,
    wait_for,
)

pytestmark = [pytest.mark.reliability, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

LEARNERS = 12
CLIENT_THREADS = 4
VISIBILITY_TIMEOUT = 5
PASSWORD = "scale-out-password"


class Balancer:
    """Round-robin over the live servers; a server that refuses a connection is taken out."""

    def __init__(self, servers):
        self.servers = list(servers)
        self.dead: set[int] = set()
        self.lock = threading.Lock()
        self.turn = 0
        self.retried = 0

    def pick(self, offset: int):
        with self.lock:
            live = [s for s in self.servers if s.port not in self.dead]
            return live[offset % len(live)]

    def request(self, token: str, method: str, path: str, *, offset: int, json_body=None):
        """(status, json) from the first server that answers; retried on the next on a connection error."""
        for attempt in range(6):
            server = self.pick(offset + attempt)
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            try:
                body = None if json_body is None else json.dumps(json_body)
                headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                return response.status, json.loads(data or b"{}")
            except (OSError, http.client.HTTPException):
                with self.lock:
                    self.retried += 1
                    if server.proc.poll() is not None:
                        self.dead.add(server.port)
                time.sleep(0.2)
            finally:
                conn.close()
        raise AssertionError(f"{method} {path}: no server answered")


@pytest.fixture
def beat(tmp_path, static_root, redis_server):
    """One Celery beat (the database scheduler), as in production: exactly one per deployment."""
    env = production_env(static_root=static_root, database_url=database_url_for_tests(), redis=redis_server)
    log = tmp_path / "beat.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "elearn", "beat", "--loglevel=INFO",
             "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    proc.log_path = log
    try:
        yield proc
    finally:
        stop_process_group(proc)


def test_two_servers_two_workers_one_beat_lose_nothing_when_a_server_and_a_worker_die(
    tmp_path, static_root, redis_server, beat
):
    tiny = load_tiny(tmp_path, course_extra={"ce_hours": 0})  # certificates issue at completion
    final = tiny.version.final_exam
    keys = dict(Question.objects.values_list("pk", "key"))
    learners = []
    for i in range(LEARNERS):
        learner = user_for_server(PASSWORD, username=f"scale-{i:02d}")
        services.enroll(user=learner, course=tiny.course)
        read_all_lessons(learner, tiny.version)
        for module in tiny.modules:
            take_quiz(learner, module.quiz, tiny.specs)
        learners.append((learner, issue_token(learner)[1]))
    connection.close()

    env = production_env(
        static_root=static_root,
        database_url=database_url_for_tests(),
        redis=redis_server,
        media_root=tmp_path / "media",
        CELERY_VISIBILITY_TIMEOUT=VISIBILITY_TIMEOUT,
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=tmp_path / "mail",
    )
    worker_env = {**env, "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT)}
    acknowledged: dict[tuple[int, int], dict] = {}  # (attempt, question) -> last body answered 200
    submitted: dict[int, list[dict]] = {}
    failures: list[str] = []
    done = {"learners": 0}
    lock = threading.Lock()

    with (
        gunicorn(env, tmp_path) as server_a,
        gunicorn(env, tmp_path) as server_b,
        celery_worker(worker_env, tmp_path, queue="celery", name="w1") as worker_1,
        celery_worker(worker_env, tmp_path, queue="celery", name="w2") as worker_2,
    ):
        balancer = Balancer([server_a, server_b])

        def take_final(index: int) -> None:
            learner, token = learners[index]
            status, payload = balancer.request(
                token, "POST", f"/api/v1/quizzes/{final.pk}/attempts/", offset=index
            )
            if status not in (200, 201):
                failures.append(f"start {learner.username}: {status} {payload}")
                return
            attempt_id = payload["id"]
            n = 0
            for item in flat_payloads(payload):
                spec = tiny.specs[keys[item["id"]]]
                # a wrong answer first, then the right one: the later acknowledged save must win
                for body in (wrong_response(item, spec), correct_response(item, spec)):
                    path = f"/api/v1/attempts/{attempt_id}/answers/{item['id']}/"
                    status, reply = balancer.request(token, "PUT", path, offset=index + n, json_body=body)
                    n += 1
                    if status != 200:
                        failures.append(f"save {attempt_id}/{item['id']}: {status} {reply}")
                        continue
                    with lock:
                        acknowledged[(attempt_id, item["id"])] = body
            status, reply = balancer.request(
                token, "POST", f"/api/v1/attempts/{attempt_id}/submit/", offset=index + n
            )
            with lock:
                submitted.setdefault(attempt_id, []).append(reply)
                done["learners"] += 1
            if status != 200:
                failures.append(f"submit {attempt_id}: {status} {reply}")

        queue = list(range(LEARNERS))

        def client() -> None:
            while True:
                with lock:
                    if not queue:
                        return
                    index = queue.pop(0)
                try:
                    take_final(index)
                except Exception as exc:  # reported below, never swallowed
                    failures.append(f"learner {index}: {exc!r}")

        threads = [threading.Thread(target=client) for _ in range(CLIENT_THREADS)]
        for t in threads:
            t.start()
        # Mid-run: a third of the learners through, kill server B and worker 1 (whole process groups).
        wait_for(lambda: done["learners"] >= LEARNERS // 3, timeout=300, what="a third of the learners")
        os.killpg(server_b.proc.pid, signal.SIGKILL)
        os.killpg(worker_1.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        for t in threads:
            t.join(timeout=600)
        assert not any(t.is_alive() for t in threads)
        # A submit killed between its commit and the enqueue after commit leaves a completion without
        # its certificate task: beat's `issue_missing_certificates` sweep (every 5 minutes) covers that.
        # Its next tick is sent now rather than waited for.
        send("courses.tasks.issue_missing_certificates", queue="celery", redis=redis_server)
        served_b_before_kill = {m for _, m, _, _ in server_b.access_lines()}
        assert server_b.proc.wait(timeout=20) is not None and worker_1.wait(timeout=20) is not None
        assert failures == [], failures[:10]
        assert done["learners"] == LEARNERS and len(submitted) == LEARNERS
        # Both servers served the run; the killed server's learners finished on the other one.
        assert {"PUT", "POST"} <= served_b_before_kill and server_a.served_by("PUT", "/api/v1/attempts/")

        # Every completed enrollment gets its certificate, the killed worker's tasks included.
        wait_for(
            lambda: Certificate.objects.count() >= LEARNERS or worker_2.poll() is not None,
            timeout=180,
            what="a certificate for every learner (redelivered after the visibility timeout)",
        )
        assert worker_2.poll() is None, log_of(worker_2)
        time.sleep(max(0.0, VISIBILITY_TIMEOUT + 2 - (time.monotonic() - killed_at)))  # late duplicates
        assert beat.poll() is None, beat.log_path.read_text()[-3000:]

    # Every acknowledged save is there: the last acknowledged body of each question, in the database.
    attempts = {a.pk: a for a in Attempt.objects.filter(quiz=final)}
    assert set(attempts) == set(submitted)
    stored = {(a.attempt_id, a.question_id): a for a in Answer.objects.filter(attempt__quiz=final)}
    for (attempt_id, question_id), body in acknowledged.items():
        answer = stored[(attempt_id, question_id)]
        assert answer.points == 1, (attempt_id, question_id, body, answer.response)  # the right one won
    # Every submit graded once: one grading, one audit event, full marks (the right answers were saved).
    for attempt in attempts.values():
        assert attempt.state == "submitted" and attempt.score == Decimal("100.00"), attempt
        graded_now = [r.get("graded_now") for r in submitted[attempt.pk]]
        assert graded_now.count(True) <= 1
    graded = AuditEvent.objects.filter(action="attempt.graded", target_id__in=[str(pk) for pk in attempts])
    assert sorted(int(e.target_id) for e in graded) == sorted(attempts)
    # Every certificate issued once: one per enrollment, consecutive numbers, one audit event each.
    enrollments = list(Enrollment.objects.filter(course=tiny.course).values_list("pk", "status"))
    assert all(status == Enrollment.Status.COMPLETED for _, status in enrollments)
    per_enrollment = Certificate.objects.values_list("enrollment_id", flat=True)
    assert sorted(per_enrollment) == sorted(pk for pk, _ in enrollments)
    assert CertificateSequence.objects.get().last_number == LEARNERS
    assert AuditEvent.objects.filter(action="certificate.issued").count() == LEARNERS
    assert balancer.retried > 0  # the kill was felt: requests went to the dead server and were retried
