import pytest

from courses.enrollment import services
from tests.course_helpers import load_tiny
from tests.factories import UserFactory
from tests.xapi.lrs import PASSWORD, USERNAME, RalphLRS, ensure_venv


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


@pytest.fixture(scope="session")
def ralph(tmp_path_factory):
    ensure_venv()
    lrs = RalphLRS(tmp_path_factory.mktemp("ralph"))
    lrs.start()
    yield lrs
    lrs.stop()


@pytest.fixture
def to_ralph(xapi_on, ralph):
    if ralph.process is None:  # a failed test may have left it stopped
        ralph.start()
    xapi_on.XAPI_LRS_ENDPOINT = ralph.endpoint
    xapi_on.XAPI_LRS_USERNAME = USERNAME
    xapi_on.XAPI_LRS_PASSWORD = PASSWORD
    xapi_on.XAPI_BATCH_SIZE = 7  # several batches per course
    xapi_on.XAPI_RETRY_BASE_SECONDS = 60  # a backoff window no slow machine outlasts within a test
    return ralph
