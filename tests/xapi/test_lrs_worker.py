"""The sending task's own retries, in a real Celery worker on Redis: with the LRS down the task fails and
retries with backoff; once the LRS is back, a retry (not the beat sweep, not a new event) sends every
statement, each once."""

import time
from collections import Counter

import pytest

from tests.course_helpers import read_all_lessons
from tests.integration.test_celery_worker import REDIS_URL, _redis_or_skip
from tests.workers import celery_worker
from tests.xapi.lrs import PASSWORD, USERNAME
from xapi.models import OutboxStatement

pytestmark = [pytest.mark.lrs, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_until(condition, *, timeout: float, what: str, worker) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        assert worker.poll() is None, "the worker exited"
        time.sleep(0.3)
    worker.terminate()
    pytest.fail(f"{what} within {timeout} s:\n{worker.communicate()[0][-4000:]}")


@pytest.fixture
def worker_sending_to(ralph):
    _redis_or_skip()
    with celery_worker(
        name="xapi-worker",
        broker_url=REDIS_URL,
        settings_module="tests.xapi.worker_settings",
        env={
            "XAPI_LRS_ENDPOINT": ralph.endpoint,
            "XAPI_LRS_USERNAME": USERNAME,
            "XAPI_LRS_PASSWORD": PASSWORD,
            "XAPI_ACCOUNT_HOMEPAGE": "https://hr.example.org",
            "XAPI_RETRY_BASE_SECONDS": "1",
            "XAPI_RETRY_MAX_SECONDS": "3",
        },
    ) as proc:
        yield proc


def test_the_task_retries_with_backoff_until_the_lrs_is_back(
    to_ralph, tiny, learner, enrollment, worker_sending_to
):
    from kombu import Connection

    from elearn.celery import app

    to_ralph.stop()
    read_all_lessons(learner, tiny.version)  # this process's own send after commit fails: rows wait
    rows = OutboxStatement.objects.filter(status="pending")
    expected = {str(i) for i in rows.values_list("statement_id", flat=True)}
    assert expected and not rows.filter(send_attempts__gte=2).exists()

    with Connection(REDIS_URL) as conn:
        app.send_task("xapi.tasks.send_statements", connection=conn)
    wait_until(  # the worker tried, the LRS was down, the task scheduled its retry
        lambda: OutboxStatement.objects.filter(send_attempts__gte=2).exists(),
        timeout=60,
        what="the worker's first try",
        worker=worker_sending_to,
    )
    to_ralph.start()
    wait_until(
        lambda: not OutboxStatement.objects.exclude(status="sent").exists(),
        timeout=60,
        what="every statement sent by the task's retries",
        worker=worker_sending_to,
    )
    stored = Counter(to_ralph.stored_ids())
    assert all(stored[i] == 1 for i in expected)
