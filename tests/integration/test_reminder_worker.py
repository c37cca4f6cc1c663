"""A real Celery worker on Redis runs `courses.tasks.send_reminders` against the PostgreSQL test
database and writes the reminder with Django's file email backend.

The worker consumes a queue of its own (other engineers' worker tests share Redis db 15), and a
heartbeat task queued after the reminder tasks marks the point by which the solo worker has run them."""

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.db import connection
from django.utils import timezone

from core.models import WorkerHeartbeat
from courses.models import Notification
from tests.factories import UserFactory
from tests.onboarding_helpers import enroll, make_course
from tests.tools import unavailable

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
QUEUE = f"onboarding-test-{uuid.uuid4().hex[:8]}"

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _redis_or_skip():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        unavailable(f"Redis not reachable at {REDIS_URL}: {exc}")
    return client


@pytest.fixture
def mail_dir(tmp_path):
    path = tmp_path / "mail"
    path.mkdir()
    return path


@pytest.fixture
def reminder_worker(mail_dir, tmp_path):
    _redis_or_skip()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "elearn.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": REDIS_URL,
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "PUBLIC_BASE_URL": "https://training.example.org",
    }
    celery = shutil.which("celery", path=str(Path(sys.executable).parent))
    log = (tmp_path / "worker.log").open("w")
    proc = subprocess.Popen(
        [
            celery,
            "-A",
            "elearn",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "-Q",
            QUEUE,
            "-n",
            f"{QUEUE}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    proc.log_path = tmp_path / "worker.log"
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    log.close()


def _wait_for(condition, proc, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        assert proc.poll() is None, f"the worker exited:\n{proc.log_path.read_text()}"
        time.sleep(0.3)
    pytest.fail(f"{what} within {timeout} s; worker log:\n{proc.log_path.read_text()[-5000:]}")


def test_real_worker_sends_a_reminder_into_the_file_backend(reminder_worker, mail_dir):
    from kombu import Connection

    from elearn.celery import app

    course = make_course("overdose-response")
    learner = UserFactory(username="lee", first_name="Lee")
    # 3 days overdue in the organisation's time zone: the "on the due date" reminder (offset 0) is the
    # latest reached, whatever the hour at which the worker runs today.
    enrollment = enroll(learner, course, due=timezone.localdate() - timedelta(days=3))

    with Connection(REDIS_URL) as conn:
        app.send_task("courses.tasks.send_reminders", connection=conn, queue=QUEUE)
        app.send_task(
            "courses.tasks.send_reminders", connection=conn, queue=QUEUE
        )  # a second run: no duplicate
        app.send_task("core.tasks.record_worker_heartbeat", args=[QUEUE], connection=conn, queue=QUEUE)

    _wait_for(
        lambda: WorkerHeartbeat.objects.filter(worker=QUEUE).exists(),
        reminder_worker,
        "the worker did not run the three tasks",
        timeout=90,
    )

    notification = Notification.objects.get(enrollment=enrollment)
    assert (notification.kind, notification.status, notification.recipient) == ("reminder+0", "sent", learner)
    assert notification.sent_at is not None and notification.attempts == 1
    files = sorted(mail_dir.iterdir())
    assert len(files) == 1, [f.name for f in files]
    message = files[0].read_text()
    assert "To: lee@example.org" in message
    assert "Subject: Overdue: Course overdose-response" in message
    assert "https://training.example.org/courses/overdose-response/" in message
    assert re.search(r"\((3|4) days ago\)", message)  # 4 only if local midnight passed meanwhile
