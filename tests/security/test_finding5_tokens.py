"""Finding 5: API tokens never expired and could not be revoked (one token per user, the same on every
login, still accepted after a password change and after logout). Now: a new knox token per login,
stored only as a digest, expiring after API_TOKEN_TTL_HOURS, revoked at logout, at a password change,
at deactivation and by an admin."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts import services
from core.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
ME = "/api/v1/me/progress/"


def login(user) -> dict:
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": user.username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def api(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def works(token: str) -> bool:
    status = api(token).get(ME).status_code
    # 403 rather than 401: the first authentication class (the session) sends no WWW-Authenticate.
    assert status in (200, 401, 403), status
    return status == 200


@pytest.fixture
def person():
    return UserFactory()


def test_finding5_token_is_new_per_login_and_stored_hashed(person):
    first, second = login(person), login(person)
    assert first["token"] != second["token"]
    assert works(first["token"]) and works(second["token"])
    stored = AuthToken.objects.filter(user=person)
    assert stored.count() == 2
    for row in stored:
        assert first["token"] not in (row.digest, row.token_key)
        assert len(row.digest) == 128 and len(row.token_key) == 15


def test_finding5_token_expires_after_the_configured_ttl(person):
    issued = login(person)
    expiry = parse_datetime(issued["expiry"])
    assert timedelta(hours=9, minutes=59) < expiry - timezone.now() <= timedelta(hours=10)
    assert works(issued["token"])
    AuthToken.objects.filter(user=person).update(expiry=timezone.now() - timedelta(seconds=1))
    assert not works(issued["token"])


def test_finding5_token_ttl_is_a_setting(person):
    from knox.settings import knox_settings

    with override_settings(REST_KNOX={"TOKEN_TTL": timedelta(hours=2), "AUTH_HEADER_PREFIX": "Token"}):
        expiry = parse_datetime(login(person)["expiry"])
        assert expiry - timezone.now() <= timedelta(hours=2)
    assert timedelta(hours=10) == knox_settings.TOKEN_TTL


def test_finding5_token_revoked_at_logout(person):
    kept, ended = login(person)["token"], login(person)["token"]
    assert api(ended).post("/api/v1/auth/logout/").status_code == 204
    assert not works(ended)
    assert works(kept)  # logout ends this login only
    assert api(kept).post("/api/v1/auth/logout/?all=1").status_code == 204
    assert not works(kept)
    assert not AuthToken.objects.filter(user=person).exists()
    assert AuditEvent.objects.filter(action="auth.tokens_revoked", subject_user_id=person.pk).count() == 2


def test_finding5_token_revoked_at_password_change(person):
    token = login(person)["token"]
    person.set_password("a brand new passphrase 42")
    person.save()
    assert not works(token)


def test_finding5_token_revoked_at_password_change_through_the_page(client, person):
    token = login(person)["token"]
    client.force_login(person)
    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "Another-long-pass-77",
            "new_password2": "Another-long-pass-77",
        },
    )
    assert response.status_code == 302
    assert not works(token)


def test_finding5_token_revoked_at_deactivation(person):
    token = login(person)["token"]
    services.deactivate_user(user=person)
    assert not AuthToken.objects.filter(user=person).exists()
    assert not works(token)


def test_finding5_token_revoked_by_an_admin(client, person):
    admin = UserFactory(role="admin", is_staff=True, is_superuser=True)
    token = login(person)["token"]
    client.force_login(admin)
    response = client.post(
        "/admin/accounts/user/",
        {"action": "revoke_api_tokens", "_selected_action": [person.pk]},
    )
    assert response.status_code == 302
    assert not works(token)
    event = AuditEvent.objects.get(action="auth.tokens_revoked", subject_user_id=person.pk)
    assert event.actor_id == admin.pk and event.data["reason"] == "admin"


def test_finding5_admin_cannot_mint_a_token_for_someone_else(client):
    admin = UserFactory(role="admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    assert client.get("/admin/knox/authtoken/add/").status_code == 403


def test_finding5_token_authentication_is_one_query(person, django_assert_num_queries):
    from rest_framework.test import APIRequestFactory

    from accounts.token_auth import KnoxTokenAuthentication

    token = login(person)["token"]
    request = APIRequestFactory().get(ME, HTTP_AUTHORIZATION=f"Token {token}")
    with django_assert_num_queries(1):
        user, row = KnoxTokenAuthentication().authenticate(request)
    assert user == person and row.user_id == person.pk


@pytest.mark.parametrize("header", ["Token \xff\xfe", "Token " + "a" * 200, "Token zz", "Token"])
def test_finding5_malformed_tokens_are_refused_not_500(person, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert client.get(ME).status_code in (401, 403)


def test_finding5_token_and_user_are_built_as_the_orm_builds_them(person, django_assert_num_queries):
    """The authentication reads the token and its user with one query written once per process; the
    instances are what the ORM would give (every field), and the user needs no further query."""
    from django.forms.models import model_to_dict
    from rest_framework.test import APIRequestFactory

    from accounts.token_auth import KnoxTokenAuthentication

    person.job_title, person.hire_date = "Charge nurse", timezone.localdate()
    person.save()
    token = login(person)["token"]
    request = APIRequestFactory().get(ME, HTTP_AUTHORIZATION=f"Token {token}")
    with django_assert_num_queries(1):
        user, row = KnoxTokenAuthentication().authenticate(request)
        assert row.user is user and user.department_id == person.department_id
    orm_row = AuthToken.objects.select_related("user").get(digest=row.digest)
    fields = [f.attname for f in AuthToken._meta.concrete_fields]
    assert [getattr(row, f) for f in fields] == [getattr(orm_row, f) for f in fields]
    user_fields = [f.attname for f in type(user)._meta.concrete_fields]
    assert [getattr(user, f) for f in user_fields] == [getattr(orm_row.user, f) for f in user_fields]
    assert model_to_dict(user) == model_to_dict(orm_row.user)
    assert not row._state.adding and row._state.db == "default"
    AuthToken.objects.filter(digest=row.digest).delete()  # revoked on another process: refused at once
    assert not works(token)
