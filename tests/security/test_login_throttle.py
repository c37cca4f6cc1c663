"""Failed-login throttling (accounts/login_throttle.py) on the login page, the admin login and the token
endpoint: 10 failures per 15 minutes per username and client address, 50 per username from anywhere;
then a 429 with a clear message, before any password is checked. The counters live in the shared cache
(test settings: local memory; the cross-process test is test_login_throttle_servers.py)."""

import pytest
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from accounts import login_throttle
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # tests/factories.py


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def login(client, username, password, *, address="203.0.113.7", next_url=""):
    data = {"username": username, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post("/accounts/login/", data, REMOTE_ADDR=address)


def token(username, password, *, address="203.0.113.7"):
    return APIClient().post(
        "/api/v1/auth/token/",
        {"username": username, "password": password},
        format="json",
        REMOTE_ADDR=address,
    )


def test_ten_failures_lock_the_username_from_that_address_even_for_the_right_password(client):
    user = UserFactory(username="nurse")
    for _ in range(10):
        response = login(client, "nurse", "wrong")
        assert response.status_code == 200
        assert "didn&#x27;t match" in response.content.decode()
    blocked = login(client, "nurse", PASSWORD)
    assert blocked.status_code == 429
    assert blocked["Retry-After"] == "900"
    assert "Too many failed login attempts" in blocked.content.decode()
    assert "_auth_user_id" not in client.session
    # the token endpoint shares the counters
    api = token("nurse", PASSWORD)
    assert api.status_code == 429 and api.json()["code"] == "too_many_failed_logins"
    assert api.json()["detail"] == login_throttle.MESSAGE
    # the same username from another address, and another username from this one, are not blocked
    assert login(client, "nurse", PASSWORD, address="198.51.100.9").status_code == 302
    client.logout()
    UserFactory(username="colleague")
    assert login(client, "colleague", PASSWORD).status_code == 302
    assert user.pk


def test_failures_below_the_limit_do_not_block(client):
    UserFactory(username="nurse")
    for _ in range(9):
        assert login(client, "nurse", "wrong").status_code == 200
    assert login(client, "nurse", PASSWORD).status_code == 302


def test_the_token_endpoint_counts_its_own_failures():
    UserFactory(username="api-user")
    for _ in range(10):
        assert token("api-user", "wrong").status_code == 400
    assert token("api-user", PASSWORD).status_code == 429
    assert token("api-user", PASSWORD, address="198.51.100.9").status_code == 200


def test_the_admin_login_is_throttled_too(client):
    UserFactory(username="boss", is_staff=True, is_superuser=True)
    for _ in range(10):
        assert client.post("/admin/login/", {"username": "boss", "password": "x"}).status_code == 200
    blocked = client.post("/admin/login/", {"username": "boss", "password": PASSWORD})
    assert blocked.status_code == 200 and "Too many failed login attempts" in blocked.content.decode()
    assert "_auth_user_id" not in client.session


@override_settings(LOGIN_FAILURE_USERNAME_LIMIT=50, TRUSTED_PROXY_COUNT=1)
def test_rotating_addresses_meets_the_per_username_ceiling(client):
    """Real addresses (a botnet behind the trusted proxy): each pair stays under its limit."""
    UserFactory(username="target")
    for i in range(50):
        response = client.post(
            "/accounts/login/",
            {"username": "target", "password": f"guess-{i}"},
            HTTP_X_FORWARDED_FOR=f"10.0.{i}.1",
        )
        assert response.status_code == 200
    fresh_address = client.post(
        "/accounts/login/", {"username": "target", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="10.9.9.9"
    )
    assert fresh_address.status_code == 429


def test_unknown_usernames_are_counted_like_known_ones(client):
    for _ in range(10):
        assert login(client, "nobody-by-this-name", "x").status_code == 200
    assert login(client, "nobody-by-this-name", "x").status_code == 429


def test_a_cache_outage_fails_open_and_logs(client, monkeypatch, caplog):
    """With the shared store down the login still works (and says why in the log), instead of a 500."""
    UserFactory(username="nurse")

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    for name in ("add", "incr", "get"):
        monkeypatch.setattr(cache, name, down)
    assert login(client, "nurse", "wrong").status_code == 200
    assert login(client, "nurse", PASSWORD).status_code == 302
    assert "rate limit store unavailable" in caplog.text
