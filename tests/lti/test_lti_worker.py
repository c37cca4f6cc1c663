"""Score passback's retries in a real Celery worker on Redis: the simulated LMS refuses the first two
score posts (503); the worker's task retries with backoff and the third post is taken, once."""

import time
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from lti.models import PlatformUser, ResourceLink, ScoreSubmission
from tests.course_helpers import load_tiny
from tests.factories import UserFactory
from tests.integration.test_celery_worker import REDIS_URL, _redis_or_skip
from tests.lti.conftest import DEPLOYMENT_ID, register_simulator
from tests.workers import celery_worker

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"

pytestmark = [pytest.mark.lti, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker():
    _redis_or_skip()
    with celery_worker(
        name="lti-worker",
        broker_url=REDIS_URL,
        settings_module="tests.lti.worker_settings",
        env={"LTI_SCORE_RETRY_BASE_SECONDS": "1"},
    ) as proc:
        yield proc


def test_refused_score_is_retried_by_the_worker_until_the_lms_takes_it(worker, lti_simulator_url, tmp_path):
    from kombu import Connection

    from elearn.celery import app

    tiny = load_tiny(tmp_path)
    sim = register_simulator(
        lti_simulator_url, tool_base="http://testserver", tool_jwks=Client().get("/lti/jwks/").json()
    )
    now = timezone.now()
    identity = PlatformUser.objects.create(
        platform=sim.platform,
        deployment_id=DEPLOYMENT_ID,
        sub="lms-user-1",
        user=UserFactory(),
        created_at=now,
        last_launch_at=now,
    )
    link = ResourceLink.objects.create(
        platform=sim.platform,
        deployment_id=DEPLOYMENT_ID,
        resource_link_id="link-1",
        course=tiny.course,
        quiz_key=tiny.modules[0].quiz.key,
        lineitem_url=f"{sim.url}/lineitems/1",
        ags_scopes=[SCORE_SCOPE],
        updated_at=now,
    )
    submission = ScoreSubmission.objects.create(
        link=link,
        learner=identity,
        score_given=Decimal("87.50"),
        score_maximum=100,
        timestamp=now,
        created_at=now,
    )
    sim.fail_next_scores(2)
    with Connection(REDIS_URL) as conn:
        app.send_task("lti.tasks.send_score", args=[submission.pk], connection=conn)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        submission.refresh_from_db()
        if submission.status != ScoreSubmission.Status.PENDING:
            break
        assert worker.poll() is None, "the worker exited"
        time.sleep(0.3)
    else:
        worker.terminate()
        pytest.fail("the score was not sent within 60 s:\n" + worker.communicate()[0][-4000:])
    assert (submission.status, submission.tries) == ("sent", 3)
    scores = sim.state()["scores"]
    assert [(s["lineitem"], s["scoreGiven"], s["userId"]) for s in scores] == [("1", 87.5, "lms-user-1")]
    assert scores[0]["timestamp"] == now.isoformat(timespec="milliseconds")
