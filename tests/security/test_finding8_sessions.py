"""Finding 8 (sessions): sessions lasted 14 days with no idle timeout. Now a session ends after
SESSION_IDLE_TIMEOUT_MINUTES without a request and SESSION_ABSOLUTE_LIFETIME_HOURS after login, both
shorter for privileged roles (accounts/sessions.py)."""

import pytest
from django.conf import settings
from django.test import Client, override_settings

from accounts import sessions
from accounts.models import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


class Clock:
    def __init__(self, monkeypatch):
        self.now = 1_800_000_000.0
        monkeypatch.setattr(sessions.time, "time", lambda: self.now)

    def advance(self, *, minutes: float = 0, hours: float = 0):
        self.now += minutes * 60 + hours * 3600


def logged_in(username: str) -> Client:
    client = Client()
    assert client.post("/accounts/login/", {"username": username, "password": PASSWORD}).status_code == 302
    return client


def logged_out(client: Client) -> bool:
    response = client.get("/transcript/")
    assert response.status_code in (200, 302)
    return response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_finding8_session_defaults_are_settings():
    assert settings.SESSION_IDLE_TIMEOUT_MINUTES == 60
    assert settings.SESSION_ABSOLUTE_LIFETIME_HOURS == 12
    assert settings.SESSION_PRIVILEGED_IDLE_TIMEOUT_MINUTES < settings.SESSION_IDLE_TIMEOUT_MINUTES
    assert settings.SESSION_PRIVILEGED_ABSOLUTE_LIFETIME_HOURS < settings.SESSION_ABSOLUTE_LIFETIME_HOURS
    assert settings.SESSION_COOKIE_AGE == 12 * 3600


def test_finding8_session_idle_timeout(monkeypatch):
    clock = Clock(monkeypatch)
    UserFactory(username="lee")
    client = logged_in("lee")
    clock.advance(minutes=59)
    assert not logged_out(client)
    clock.advance(minutes=59)  # activity moved the idle clock
    assert not logged_out(client)
    clock.advance(minutes=61)
    assert logged_out(client)


def test_finding8_session_absolute_lifetime(monkeypatch):
    clock = Clock(monkeypatch)
    UserFactory(username="lee")
    client = logged_in("lee")
    for _ in range(23):  # busy all day: a request every 30 minutes, for 11.5 hours
        clock.advance(minutes=30)
        assert not logged_out(client)
    clock.advance(minutes=31)
    assert logged_out(client)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SUPERVISOR, Role.SURVEYOR, Role.DEPARTMENT_ADMIN])
def test_finding8_session_is_shorter_for_privileged_roles(monkeypatch, role):
    assert sessions.is_privileged(UserFactory(role=role))
    clock = Clock(monkeypatch)
    user = UserFactory(username="boss", role=role)
    if role == Role.SURVEYOR:
        from datetime import timedelta

        from django.utils import timezone

        from accounts.models import SurveyorScope

        SurveyorScope.objects.create(
            user=user,
            records_from=timezone.localdate(),
            records_to=timezone.localdate(),
            expires_at=timezone.now() + timedelta(days=3),
        )
    client = logged_in("boss")
    clock.advance(minutes=settings.SESSION_PRIVILEGED_IDLE_TIMEOUT_MINUTES + 1)
    assert logged_out(client)


@override_settings(SESSION_IDLE_TIMEOUT_MINUTES=5)
def test_finding8_session_idle_timeout_is_configurable(monkeypatch):
    clock = Clock(monkeypatch)
    UserFactory(username="lee")
    client = logged_in("lee")
    clock.advance(minutes=6)
    assert logged_out(client)


def test_finding8_session_last_seen_is_written_at_most_once_a_minute(monkeypatch):
    clock = Clock(monkeypatch)
    UserFactory(username="lee")
    client = logged_in("lee")
    client.get("/transcript/")
    seen = client.session[sessions.SEEN]
    clock.advance(minutes=0.5)
    client.get("/transcript/")
    assert client.session[sessions.SEEN] == seen
    clock.advance(minutes=1)
    client.get("/transcript/")
    assert client.session[sessions.SEEN] > seen
