"""Redis (the Celery broker and, in production, the cache holding rate limits) goes down while a learner
logs in, reads pages, takes the final exam and completes a course through a real gunicorn on production
settings.

Expected: every page and API call answers 2xx (never 500); /readyz says the broker is down; the
completion and the evaluation commit; the certificate cannot be enqueued, which is logged. When Redis
is back, the `issue_missing_certificates` sweep (beat's job, here sent to a real worker) issues the
certificate: no completion is lost. Redis here is the test run's own throwaway server (fixture
`redis_server`), never the machine's.
"""

import time
import uuid

import pytest
from django.db import connection

from accounts.tokens import issue_token
from core.audit import verify_chain
from courses.models import Certificate, Enrollment
from quizzes.models import Attempt, Question
from tests.course_helpers import load_tiny, read_all_lessons, take_quiz
from tests.quiz_content import correct_response
from tests.quiz_helpers import flat_payloads
from tests.reliability.harness import (
    celery_worker,
    database_url_for_tests,
    gunicorn,
    log_of,
    production_env,
    redis_stopped,
    send,
    user_for_server,
    wait_for,
    worker_env,
)

pytestmark = [pytest.mark.reliability, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PASSWORD = "redis-outage-password"


def test_pages_and_quiz_taking_work_without_redis_and_the_sweep_issues_the_certificate_later(
    tmp_path, static_root, redis_server
):
    tiny = load_tiny(tmp_path)  # 1.5 CE hours: the certificate waits for the course evaluation
    learner = user_for_server(PASSWORD, username="outage-learner")
    token = issue_token(learner)[1]
    from courses.enrollment import services

    services.enroll(user=learner, course=tiny.course)
    read_all_lessons(learner, tiny.version)
    for module in tiny.modules:
        take_quiz(learner, module.quiz, tiny.specs)
    final = tiny.version.final_exam
    lesson_id = tiny.modules[0].lessons.first().pk
    connection.close()

    env = production_env(
        static_root=static_root,
        database_url=database_url_for_tests(),
        redis=redis_server,
        media_root=tmp_path / "media",
    )
    timings = {}
    with gunicorn(env, tmp_path) as server:
        browser = server.client()
        api = server.client(headers={"Authorization": f"Token {token}"})
        assert server.client().get("/readyz").status == 200
        with redis_stopped(redis_server):
            ready = server.client().get("/readyz")
            assert ready.status == 503 and ready.json()["checks"]["broker"] != "ok", ready.text

            # Log in (the failed-login counter lives in Redis here: it must fail open, not 500).
            assert browser.login("outage-learner", "wrong password").status == 200
            login = browser.login("outage-learner", PASSWORD)
            assert login.status == 302 and login.headers["location"] == "/", login.text[:500]
            for path in (
                "/",
                f"/courses/{tiny.course.slug}/",
                f"/lessons/{lesson_id}/",
                f"/quizzes/{final.pk}/",
                "/transcript/",
                "/certificates/",
                "/verify/no-such-code/",
            ):
                reply = browser.get(path)
                assert reply.status == 200, (path, reply.status, reply.text[:500])

            # Take the final exam through the API: start, autosave every answer, submit.
            started = api.post(f"/api/v1/quizzes/{final.pk}/attempts/")
            assert started.status == 201, started.text
            payload = started.json()
            keys = dict(Question.objects.values_list("pk", "key"))
            for item in flat_payloads(payload):
                body = correct_response(item, tiny.specs[keys[item["id"]]])
                saved = api.put(f"/api/v1/attempts/{payload['id']}/answers/{item['id']}/", json_body=body)
                assert saved.status == 200, saved.text
            t0 = time.monotonic()
            submitted = api.post(f"/api/v1/attempts/{payload['id']}/submit/")
            timings["submit"] = time.monotonic() - t0
            assert submitted.status == 200, submitted.text
            assert submitted.json()["passed"] is True
            enrollment = Enrollment.objects.get(user=learner, course=tiny.course)
            assert enrollment.status == Enrollment.Status.COMPLETED

            # The course evaluation (an HTML form with CSRF) commits and tries to enqueue the issue.
            t0 = time.monotonic()
            evaluation = browser.csrf_post(
                f"/courses/{tiny.course.slug}/evaluation/",
                {"relevance": "5", "clarity": "4", "confidence": "5", "comments": "Fine."},
            )
            timings["evaluation"] = time.monotonic() - t0
            assert evaluation.status == 302 and evaluation.headers["location"] == "/certificates/", (
                evaluation.text
            )
            assert browser.get("/certificates/").status == 200
            connection.close()
        assert not Certificate.objects.filter(enrollment=enrollment).exists(), "nothing could have issued it"
        server_log = server.log_text()
        wait_for(lambda: server.client().get("/readyz").status == 200, timeout=30, what="/readyz ok again")
        statuses = [status for *_, status in server.access_lines()]

    print(f"\nrequest time with the broker down: {timings}")
    assert 500 not in statuses and all(s < 500 or s == 503 for s in statuses)
    assert statuses.count(503) == 1  # the /readyz probe, and only it
    # core.queue logs the failed send by task name (the certificate sweep issues it later)
    assert "could not run task courses.tasks.issue_certificate_task" in server_log
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.COMPLETED and enrollment.evaluation

    # Redis is back: the periodic sweep issues what the outage missed, once.
    queue = f"reliability-{uuid.uuid4().hex[:8]}"
    (tmp_path / "mail").mkdir()
    with celery_worker(worker_env(tmp_path, redis_server), tmp_path, queue=queue, name="sweeper") as worker:
        send("courses.tasks.issue_missing_certificates", queue=queue, redis=redis_server)
        # beat firing twice: still one
        send("courses.tasks.issue_missing_certificates", queue=queue, redis=redis_server)
        wait_for(
            lambda: (
                Certificate.objects.filter(enrollment=enrollment).exclude(pdf="").exists()
                or worker.poll() is not None
            ),
            timeout=120,
            what="the sweep issuing the missed certificate",
        )
        wait_for(lambda: log_of(worker).count("succeeded") >= 2, timeout=60, what="both sweeps done")
        assert worker.poll() is None, log_of(worker)
    assert Certificate.objects.filter(enrollment=enrollment).count() == 1
    assert Attempt.objects.filter(user=learner, quiz=final, passed=True).count() == 1
    assert verify_chain().ok
