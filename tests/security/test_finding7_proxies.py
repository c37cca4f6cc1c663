"""Finding 7: rate limits trusted the leftmost X-Forwarded-For, so rotating the header moved the login
lockout and lifted the verification limit, and 270 failed logins across 30 accounts from one address
were never throttled. Now the client address comes from X-Forwarded-For only through
TRUSTED_PROXY_COUNT proxies (default 0: REMOTE_ADDR), and one address meets a ceiling on failed logins
across usernames (LOGIN_FAILURE_ADDRESS_LIMIT)."""

import pytest
from django.core.cache import cache
from django.test import RequestFactory, override_settings
from rest_framework.test import APIClient

from core.ratelimit import client_address
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def address(forwarded: str | None, remote: str = "192.0.2.10") -> str:
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/", **headers))


def test_finding7_x_forwarded_for_ignored_without_trusted_proxies():
    assert address("6.6.6.6") == "192.0.2.10"
    assert address("6.6.6.6, 7.7.7.7") == "192.0.2.10"


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_finding7_one_trusted_proxy_takes_the_rightmost_entry():
    assert address("203.0.113.5") == "203.0.113.5"
    assert address("6.6.6.6, 203.0.113.5") == "203.0.113.5"  # the forged entry is to the left
    assert address(None) == "192.0.2.10"
    assert address("not-an-address") == "192.0.2.10"


@override_settings(TRUSTED_PROXY_COUNT=2)
def test_finding7_two_trusted_proxies_skip_the_inner_proxy():
    assert address("6.6.6.6, 203.0.113.5, 10.0.0.2") == "203.0.113.5"
    assert address("10.0.0.2") == "192.0.2.10"  # fewer hops than proxies: not through them all


def test_finding7_rotating_x_forwarded_for_does_not_move_the_login_lockout(client):
    UserFactory(username="nurse")
    for i in range(10):
        response = client.post(
            "/accounts/login/", {"username": "nurse", "password": "wrong"}, HTTP_X_FORWARDED_FOR=f"10.1.{i}.1"
        )
        assert response.status_code == 200
    blocked = client.post(
        "/accounts/login/", {"username": "nurse", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="10.9.9.9"
    )
    assert blocked.status_code == 429  # attempt 11, not 51


@override_settings(VERIFY_RATE_LIMIT_PER_MINUTE=5)
def test_finding7_rotating_x_forwarded_for_does_not_lift_the_verify_limit():
    api = APIClient()
    statuses = [
        api.get("/api/v1/certificates/verify/nope/", HTTP_X_FORWARDED_FOR=f"10.2.{i}.1").status_code
        for i in range(8)
    ]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429] * 3


@override_settings(LOGIN_FAILURE_ADDRESS_LIMIT=50)
def test_finding7_one_address_spraying_many_usernames_is_capped(client):
    for n in range(30):
        UserFactory(username=f"staff{n}")
    statuses = []
    for n in range(30):
        for _ in range(9):  # under the per-username-and-address limit of 10 each: 270 failures
            statuses.append(
                client.post("/accounts/login/", {"username": f"staff{n}", "password": "guess"}).status_code
            )
    assert statuses[:50] == [200] * 50
    assert set(statuses[50:]) == {429}
    # the token endpoint shares the address counter; another address is not affected
    assert (
        APIClient().post("/api/v1/auth/token/", {"username": "staff0", "password": PASSWORD}).status_code
        == 429
    )
    other = APIClient().post(
        "/api/v1/auth/token/", {"username": "staff0", "password": PASSWORD}, REMOTE_ADDR="198.51.100.4"
    )
    assert other.status_code == 200
