"""Finding 8 (second factor): privileged roles had no second factor. Now a TOTP authenticator (with
single-use recovery codes) is required for admins (and the roles in accounts.mfa.MFA_REQUIRED_ROLES,
and anyone with the admin site), optional for others; the site login, the admin login and the token
endpoint all ask for it."""

import re
import time

import pytest
from django.test import Client, override_settings
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts import mfa
from accounts.models import Role
from core.models import AuditEvent
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_enforced")]

PASSWORD = "correct horse battery staple"


@pytest.fixture
def _enforced():
    with override_settings(MFA_ENFORCED=True):
        yield


def code_for(device: TOTPDevice, offset: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset
    return f"{totp.token():06d}"


def login(username: str, path: str = "/accounts/login/") -> Client:
    client = Client()
    response = client.post(path, {"username": username, "password": PASSWORD, "next": "/team/"})
    assert response.status_code == 302, response.content[:500]
    return client


def enrol(client: Client, user) -> tuple[TOTPDevice, list[str]]:
    page = client.get("/accounts/2fa/setup/")
    assert page.status_code == 200 and b"<svg" in page.content
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    done = client.post("/accounts/2fa/setup/", {"code": code_for(device)})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z0-9]+)</code></li>", done.content.decode())
    device.refresh_from_db()
    assert device.confirmed and len(codes) == mfa.RECOVERY_CODE_COUNT
    return device, codes


def test_finding8_mfa_required_roles_are_one_set():
    assert {Role.ADMIN, "author", "medical_reviewer"} <= mfa.MFA_REQUIRED_ROLES
    assert mfa.mfa_required(UserFactory(role=Role.ADMIN))
    assert mfa.mfa_required(UserFactory(role=Role.LEARNER, is_staff=True))
    assert not mfa.mfa_required(UserFactory(role=Role.LEARNER))
    assert not mfa.mfa_required(UserFactory(role=Role.SUPERVISOR))


def test_finding8_admin_without_a_second_factor_must_enrol_before_any_page():
    admin = UserFactory(username="boss", role=Role.ADMIN, is_staff=True)
    client = login("boss")
    for path in ("/", "/team/", "/admin/", "/transcript/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/2fa/setup/"), path
    assert client.get("/api/v1/me/progress/").status_code == 403
    device, codes = enrol(client, admin)
    assert client.get("/team/").status_code == 200
    assert StaticToken.objects.filter(device__user=admin).count() == 10
    assert AuditEvent.objects.filter(action="auth.mfa_enrolled", subject_user_id=admin.pk).exists()


def test_finding8_admin_login_asks_for_the_code_and_accepts_it_once():
    admin = UserFactory(username="boss", role=Role.ADMIN, is_staff=True)
    device, _ = enrol(login("boss"), admin)
    client = login("boss")
    gate = client.get("/team/")
    assert gate.status_code == 302 and gate["Location"] == "/accounts/2fa/verify/?next=%2Fteam%2F"
    assert client.post("/accounts/2fa/verify/", {"code": "000000", "next": "/team/"}).status_code == 400
    device.refresh_from_db()
    device.throttling_failure_timestamp = None  # skip django-otp's delay after the wrong code
    device.save()
    # the next time step's code (the current one was spent confirming the app)
    ok = client.post("/accounts/2fa/verify/", {"code": code_for(device, offset=30), "next": "/team/"})
    assert ok.status_code == 302 and ok["Location"] == "/team/"
    assert client.get("/team/").status_code == 200
    # the same code cannot be used for a second login (replay)
    other = login("boss")
    assert other.post("/accounts/2fa/verify/", {"code": code_for(device, offset=30)}).status_code == 400


def test_finding8_django_admin_login_is_protected_too():
    admin = UserFactory(username="boss", role=Role.ADMIN, is_staff=True, is_superuser=True)
    enrol(login("boss"), admin)
    client = Client()
    response = client.post("/admin/login/?next=/admin/", {"username": "boss", "password": PASSWORD})
    assert response.status_code == 302
    gate = client.get("/admin/")
    assert gate.status_code == 302 and gate["Location"].startswith("/accounts/2fa/verify/")
    assert client.get("/admin/accounts/user/").status_code == 302


def test_finding8_recovery_code_works_once():
    admin = UserFactory(username="boss", role=Role.ADMIN, is_staff=True)
    _, codes = enrol(login("boss"), admin)
    client = login("boss")
    assert client.post("/accounts/2fa/verify/", {"code": codes[0]}).status_code == 302
    assert client.get("/team/").status_code == 200
    again = login("boss")
    assert again.post("/accounts/2fa/verify/", {"code": codes[0]}).status_code == 400


def test_finding8_password_alone_cannot_replace_an_enrolled_authenticator():
    admin = UserFactory(username="boss", role=Role.ADMIN, is_staff=True)
    enrol(login("boss"), admin)
    client = login("boss")
    response = client.get("/accounts/2fa/setup/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/2fa/verify/")
    assert client.post("/accounts/2fa/setup/", {"code": "123456"}).status_code == 302
    assert TOTPDevice.objects.filter(user=admin).count() == 1


def test_finding8_mfa_is_optional_for_learners_and_then_enforced():
    learner = UserFactory(username="lee")
    client = login("lee")
    assert client.get("/transcript/").status_code == 200  # not required
    device, _ = enrol(client, learner)
    later = login("lee")
    assert later.get("/transcript/").status_code == 302  # once on, every login asks
    assert later.post("/accounts/2fa/verify/", {"code": code_for(device, offset=30)}).status_code == 302
    assert later.get("/transcript/").status_code == 200
    assert later.post("/accounts/2fa/").status_code == 302  # a learner may turn it off
    assert not TOTPDevice.objects.filter(user=learner).exists()


def test_finding8_admin_cannot_turn_mfa_off():
    admin = UserFactory(username="boss", role=Role.ADMIN, is_staff=True)
    client = login("boss")
    enrol(client, admin)
    assert client.post("/accounts/2fa/").status_code == 403
    assert TOTPDevice.objects.filter(user=admin, confirmed=True).exists()


def test_finding8_token_endpoint_asks_for_the_second_factor():
    admin = UserFactory(username="boss", role=Role.ADMIN, is_staff=True)
    api = APIClient()
    refused = api.post("/api/v1/auth/token/", {"username": "boss", "password": PASSWORD}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "mfa_enrolment_required"
    device, _ = enrol(login("boss"), admin)
    missing = api.post("/api/v1/auth/token/", {"username": "boss", "password": PASSWORD}, format="json")
    assert missing.status_code == 400 and missing.json()["errors"]["otp"]
    ok = api.post(
        "/api/v1/auth/token/",
        {"username": "boss", "password": PASSWORD, "otp": code_for(device, offset=30)},
        format="json",
    )
    assert ok.status_code == 200 and ok.json()["token"]
    learner = UserFactory(username="lee")
    assert api.post("/api/v1/auth/token/", {"username": "lee", "password": PASSWORD}).status_code == 200
    assert learner.pk


def test_finding8_unverified_session_reaches_no_api():
    UserFactory(username="boss", role=Role.ADMIN, is_staff=True)
    client = login("boss")
    response = client.get("/api/v1/me/progress/")
    assert response.status_code == 403 and response.json()["code"] == "mfa_required"
