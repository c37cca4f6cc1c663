"""Finding 8 (odd input): `/verify/?code=a/b` answered 500. Every public page must answer 4xx, never
5xx, whatever it is given: a property-based test sends arbitrary text (control characters, NUL, slashes,
non-ASCII, very long strings) into every public URL's parameters and query strings."""

from urllib.parse import quote

import pytest
from django.core.cache import cache
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

ODD = st.one_of(
    st.text(max_size=300),
    st.sampled_from(
        ["a/b", "/", "..", "../../etc/passwd", "\x00", "%00", "a\x00b", "\u202e", "😀" * 40, "x" * 5000]
    ),
)
PATH_TEMPLATES = [
    "/verify/{}/",
    "/api/v1/certificates/verify/{}/",
    "/accounts/reset/{}/set-password/",
    "/accounts/reset/{}/{}/",
    "/{}",
    "/static/{}",
    "/media/{}",
]
QUERY_URLS = ["/verify/", "/accounts/login/", "/admin/login/", "/accounts/password_reset/", "/healthz", "/"]


def assert_not_5xx(response, url):
    assert response.status_code < 500, (url, response.status_code)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_finding8_verify_with_a_slash_in_the_code_answers_400():
    response = Client().get("/verify/", {"code": "a/b"})
    assert response.status_code == 400
    assert "Unknown code" in response.content.decode()


def test_finding8_verify_with_a_nul_byte_answers_4xx_or_unknown():
    for url in ("/verify/a%00b/", "/api/v1/certificates/verify/a%00b/"):
        response = Client().get(url)
        assert response.status_code in (200, 400, 404), url
    assert Client().get("/api/v1/certificates/verify/a%00b/").json()["status"] == "unknown"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(template=st.sampled_from(PATH_TEMPLATES), first=ODD, second=ODD)
def test_finding8_public_paths_never_answer_5xx(template, first, second):
    cache.clear()  # rate limits (a 429 is fine, but would hide the view behind it)
    url = template.format(quote(first, safe=""), quote(second, safe=""))
    assert_not_5xx(Client(raise_request_exception=False).get(url), url)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(url=st.sampled_from(QUERY_URLS), key=st.sampled_from(["code", "next", "q", "page"]), value=ODD)
def test_finding8_public_query_strings_never_answer_5xx(url, key, value):
    cache.clear()
    response = Client(raise_request_exception=False).get(f"{url}?{quote(key)}={quote(value, safe='')}")
    assert_not_5xx(response, url)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    url=st.sampled_from(["/accounts/login/", "/admin/login/", "/accounts/password_reset/"]),
    username=ODD,
    password=ODD,
)
def test_finding8_public_forms_never_answer_5xx(url, username, password):
    cache.clear()
    client = Client(raise_request_exception=False)
    data = {"username": username, "password": password, "email": username, "next": password}
    assert_not_5xx(client.post(url, data), url)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
def test_finding8_token_endpoint_never_answers_5xx(body):
    cache.clear()
    client = Client(raise_request_exception=False)
    for content_type in ("application/json", "application/x-www-form-urlencoded", "text/plain"):
        response = client.post("/api/v1/auth/token/", body, content_type=content_type)
        assert_not_5xx(response, content_type)
