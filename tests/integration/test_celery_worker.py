"""A real Celery worker on Redis runs a task that commits to the PostgreSQL test database."""

import os
import time

import pytest
import redis

from core.models import WorkerHeartbeat
from tests.tools import unavailable
from tests.workers import celery_worker

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _redis_or_skip():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        unavailable(f"Redis not reachable at {REDIS_URL}: {exc}")
    client.flushdb()
    return client


@pytest.fixture
def celery_worker_process():
    _redis_or_skip()
    with celery_worker(name="ci-worker", broker_url=REDIS_URL) as proc:
        yield proc


def test_real_worker_runs_task_and_commits_to_postgres(celery_worker_process):
    from kombu import Connection

    from elearn.celery import app

    with Connection(REDIS_URL) as conn:
        app.send_task("core.tasks.record_worker_heartbeat", args=["probe-from-test"], connection=conn)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if WorkerHeartbeat.objects.filter(worker="probe-from-test").exists():
            break
        assert celery_worker_process.poll() is None, celery_worker_process.stdout.read()
        time.sleep(0.5)
    else:
        celery_worker_process.terminate()
        pytest.fail("the worker did not run the task within 60 s:\n" + celery_worker_process.communicate()[0])
    assert WorkerHeartbeat.objects.filter(worker="probe-from-test").count() == 1
