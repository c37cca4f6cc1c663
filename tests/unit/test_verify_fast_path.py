"""Certificate verification answered ahead of the session and authentication middleware (issue 18):
the same answer as the full stack, header for header, with the rate limit still counted, and without a
database query or a session read when the answer is cached."""

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from courses.certificates import services as certificates
from tests.certificate_helpers import completed_enrollment, make_course
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FAST = "courses.certificates.verify_views.VerifyFastPathMiddleware"
WITHOUT_FAST_PATH = [m for m in settings.MIDDLEWARE if m != FAST]
VERIFY_API = "/api/v1/certificates/verify/{}/"


@pytest.fixture(autouse=True)
def _fresh_cache(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    yield
    cache.clear()


def issued_certificate():
    enrollment = completed_enrollment(UserFactory(), make_course(slug="naloxone", title="Naloxone basics"))
    outcome = certificates.issue_certificate(enrollment_id=enrollment.pk)
    assert outcome.certificate is not None, outcome.reason
    return outcome.certificate


def _answer(path, **extra):
    response = Client().get(path, **extra)
    return response.status_code, response.content, dict(response.headers)


def test_the_fast_path_is_in_the_stack_right_after_security():
    stack = settings.MIDDLEWARE
    assert stack.index(FAST) == stack.index("django.middleware.security.SecurityMiddleware") + 1


@pytest.mark.parametrize("kind", ["valid", "unknown", "malformed"])
def test_same_status_body_and_headers_as_the_full_stack(tmp_path, kind):
    code = {
        "valid": lambda: issued_certificate().verify_code,
        "unknown": lambda: "no-such-code-0000",
        "malformed": lambda: "a%00b",
    }[kind]()
    path = VERIFY_API.format(code)
    fast = _answer(path)
    cache.clear()
    with override_settings(MIDDLEWARE=WITHOUT_FAST_PATH):
        full = _answer(path)
    assert fast == full
    assert fast[0] == 200 and "Content-Security-Policy" in fast[2] and fast[2]["X-Frame-Options"] == "DENY"


@override_settings(VERIFY_RATE_LIMIT_PER_MINUTE=3)
def test_rate_limited_answer_matches_the_full_stack():
    path = VERIFY_API.format("no-such-code")
    fast = [_answer(path) for _ in range(4)]
    cache.clear()
    with override_settings(MIDDLEWARE=WITHOUT_FAST_PATH):
        full = [_answer(path) for _ in range(4)]
    assert [a[0] for a in fast] == [200, 200, 200, 429]
    assert fast == full
    assert fast[3][2]["Retry-After"] == "60"


def test_a_cached_answer_reads_no_database_and_no_session(tmp_path):
    code = issued_certificate().verify_code
    path = VERIFY_API.format(code)
    Client().get(path)  # the miss: one lookup, then cached
    client = Client()
    client.cookies["sessionid"] = "not-a-session"
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200 and response.json()["status"] == "valid"
    assert len(ctx) == 0


def test_other_methods_and_paths_go_through_the_full_stack():
    assert Client().post(VERIFY_API.format("x")).status_code == 405  # the view answers, not the fast path
    assert Client().get("/api/v1/certificates/verify/x/y/").status_code == 404


@override_settings(SECURE_SSL_REDIRECT=True)
def test_plain_http_is_still_redirected_to_https():
    response = Client().get(VERIFY_API.format("x"))
    assert response.status_code == 301 and response["Location"].startswith("https://")
