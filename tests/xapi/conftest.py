import pytest

from courses import services
from tests.course_helpers import load_tiny
from tests.factories import UserFactory


@pytest.fixture
def xapi_on(settings):
    """xAPI configured as a program would; nothing listens on the endpoint (tests that need an LRS use
    the Ralph fixtures of test_lrs_ralph.py)."""
    settings.XAPI_LRS_ENDPOINT = "http://127.0.0.1:9/xAPI/"
    settings.XAPI_LRS_USERNAME = "lrs-user"
    settings.XAPI_LRS_PASSWORD = "lrs-password"  # noqa: S105
    settings.XAPI_ACCOUNT_HOMEPAGE = "https://hr.example.org"
    settings.XAPI_ACTIVITY_BASE = "https://training.example.org"
    settings.XAPI_ACTOR_EMAIL = False
    return settings


@pytest.fixture
def tiny(tmp_path, db):
    return load_tiny(tmp_path, certifying_final=True)


@pytest.fixture
def learner(db):
    return UserFactory(employee_id="E-4711")


@pytest.fixture
def enrollment(tiny, learner):
    enrollment, _ = services.enroll(user=learner, course=tiny.course)
    return enrollment
