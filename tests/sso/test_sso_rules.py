"""The rules behind single sign-on, without a browser: the claim mapping, linking an imported person,
refusals, local passwords for SSO people, and the second-factor evidence from the provider."""

from datetime import date

import pytest

from accounts import mfa
from accounts.models import Department, Role, User
from core.models import AuditEvent
from sso import claims as claim_map
from sso import services
from sso.backend import SSOBackend
from sso.services import SignInRefused
from tests.factories import UserFactory

pytestmark = [pytest.mark.sso, pytest.mark.django_db]
ISSUER = "https://login.example.org/tenant/v2.0"


@pytest.fixture(autouse=True)
def _roles(settings):
    settings.OIDC_ROLE_GROUPS = (
        "Training-Admins=admin,Reviewers=medical_reviewer,Shift-Supervisors=supervisor"
    )


def claims(**extra):
    return {
        "sub": "subject-1",
        "employee_id": "E500",
        "given_name": "Rae",
        "family_name": "Okafor",
        "email": "rae@example.org",
        "department": "nursing",
        "job_title": "Nurse",
        **extra,
    }


def test_roles_come_from_the_first_mapped_group_in_role_order(settings):
    assert claim_map.role_from_groups(["Shift-Supervisors", "Training-Admins"]) == Role.ADMIN
    assert claim_map.role_from_groups(["Reviewers", "Shift-Supervisors"]) == Role.MEDICAL_REVIEWER
    assert claim_map.role_from_groups("Shift-Supervisors") == Role.SUPERVISOR
    assert claim_map.role_from_groups(["Everyone"]) == Role.LEARNER
    settings.OIDC_ROLE_GROUPS = "Auditors=surveyor"
    with pytest.raises(ValueError, match="surveyor"):
        claim_map.role_groups()


def test_an_imported_person_is_linked_not_duplicated_and_keeps_what_the_provider_does_not_manage():
    nursing = Department.objects.create(name="Nursing", code="nursing")
    boss = UserFactory(employee_id="E001", role=Role.SUPERVISOR)
    imported = UserFactory(
        username="e500",
        employee_id="E500",
        hire_date=date(2024, 5, 1),
        licence_number="RN-1",
        supervisor=boss,
        role=Role.SUPERVISOR,
    )

    user = services.sign_in(claims=claims(supervisor_employee_id="E999"), issuer=ISSUER)

    assert user.pk == imported.pk and User.objects.filter(employee_id="E500").count() == 1
    assert (user.department, user.first_name, user.hire_date, user.licence_number) == (
        nursing,
        "Rae",
        date(2024, 5, 1),
        "RN-1",
    )
    assert user.supervisor == boss  # E999 has no account yet: the current supervisor stays
    assert user.role == Role.SUPERVISOR  # no groups claim: the engine's role stays
    assert user.sso_identity.subject == "subject-1"


def test_groups_set_the_role_and_the_change_is_audited():
    Department.objects.create(name="Nursing", code="nursing")
    user = services.sign_in(claims=claims(groups=["Training-Admins"]), issuer=ISSUER)
    assert user.role == Role.ADMIN
    assert AuditEvent.objects.filter(action="user.role_changed", data__via="single sign-on").count() == 1


@pytest.mark.parametrize(
    ("person", "reason"),
    [
        ({"is_active": False}, "deactivated"),
        ({"service_account": True}, "not_for_sso"),
        ({"role": Role.SURVEYOR}, "not_for_sso"),
    ],
)
def test_accounts_that_may_not_sign_in_are_refused_and_left_alone(person, reason):
    Department.objects.create(name="Nursing", code="nursing")
    existing = UserFactory(employee_id="E500", first_name="Before", **person)
    with pytest.raises(SignInRefused) as refusal:
        services.sign_in(claims=claims(), issuer=ISSUER)
    assert refusal.value.reason == reason
    existing.refresh_from_db()
    assert existing.first_name == "Before"


def test_another_subject_claiming_a_linked_employee_id_is_refused():
    Department.objects.create(name="Nursing", code="nursing")
    services.sign_in(claims=claims(), issuer=ISSUER)
    with pytest.raises(SignInRefused) as refusal:
        services.sign_in(claims=claims(sub="someone-else"), issuer=ISSUER)
    assert refusal.value.reason == "linked_to_another_subject"
    with pytest.raises(SignInRefused) as refusal:
        services.sign_in(claims=claims(employee_id="E501"), issuer=ISSUER)
    assert refusal.value.reason == "employee_id_mismatch"


def test_local_passwords_can_be_turned_off_for_sso_people(client, api_client, settings):
    Department.objects.create(name="Nursing", code="nursing")
    person = UserFactory(username="rae", employee_id="E500")
    person.set_password("local-password-1")
    person.save()
    services.sign_in(claims=claims(), issuer=ISSUER)
    password_user = UserFactory(username="local-only")
    password_user.set_password("local-password-2")
    password_user.save()

    assert (
        client.post("/accounts/login/", {"username": "rae", "password": "local-password-1"}).status_code
        == 302
    )

    settings.OIDC_LOCAL_PASSWORDS = False
    client.logout()
    assert (
        client.post("/accounts/login/", {"username": "rae", "password": "local-password-1"}).status_code
        == 200
    )
    token = api_client.post(
        "/api/v1/auth/token/", {"username": "rae", "password": "local-password-1"}, format="json"
    )
    assert token.status_code == 400
    # People without SSO keep their passwords.
    assert (
        client.post(
            "/accounts/login/", {"username": "local-only", "password": "local-password-2"}
        ).status_code
        == 302
    )
    # The next SSO sign-in makes the password unusable as well.
    services.sign_in(claims=claims(), issuer=ISSUER)
    assert not User.objects.get(username="rae").has_usable_password()


def test_an_inactive_persons_session_is_not_restored():
    user = UserFactory(is_active=False)
    assert SSOBackend().get_user(user.pk) is None


def test_multi_factor_evidence_comes_from_the_amr_claim(settings):
    assert mfa.provider_did_multi_factor(["pwd", "mfa"])
    assert not mfa.provider_did_multi_factor(["pwd"])
    assert not mfa.provider_did_multi_factor(None)
    settings.OIDC_MFA_AMR_VALUES = []
    assert not mfa.provider_did_multi_factor(["pwd", "mfa"])


def test_required_claims_and_turning_off_just_in_time_creation(settings):
    Department.objects.create(name="Nursing", code="nursing")
    settings.OIDC_REQUIRE_CLAIMS = ["hd=lakeside.org"]
    with pytest.raises(SignInRefused) as refusal:
        services.sign_in(claims=claims(hd="gmail.com"), issuer=ISSUER)
    assert refusal.value.reason == "outside_organisation"

    settings.OIDC_CREATE_USERS = False
    with pytest.raises(SignInRefused) as refusal:
        services.sign_in(claims=claims(hd="lakeside.org"), issuer=ISSUER)
    assert refusal.value.reason == "not_provisioned"
    assert not User.objects.filter(employee_id="E500").exists()
    UserFactory(employee_id="E500")
    assert services.sign_in(claims=claims(hd="lakeside.org"), issuer=ISSUER).employee_id == "E500"


def test_a_wrong_configuration_is_reported_before_it_is_used(settings):
    from django.core.exceptions import ImproperlyConfigured

    from sso.apps import check_role_groups
    from sso.conf import check_production

    settings.OIDC_ROLE_GROUPS = "Auditors=surveyor"
    assert [error.id for error in check_role_groups()] == ["sso.E001"]
    check_production("", "", "")  # SSO off
    check_production("https://login.example.org/t/v2.0", "engine", "secret")
    with pytest.raises(ImproperlyConfigured, match="https"):
        check_production("http://login.example.org", "engine", "secret")
    with pytest.raises(ImproperlyConfigured, match="OIDC_CLIENT_SECRET"):
        check_production("https://login.example.org", "engine", "")


def test_sso_pages_without_configuration_or_provider(client, settings):
    settings.OIDC_ISSUER = ""
    assert client.get("/accounts/sso/login/").status_code == 404
    assert client.get("/accounts/sso/callback/?code=x&state=y").status_code == 404

    from sso import provider

    settings.OIDC_ISSUER = "http://127.0.0.1:9"  # nothing listens on the discard port
    settings.OIDC_RP_CLIENT_ID = "engine"
    settings.OIDC_TIMEOUT = 2
    provider.forget()
    response = client.get("/accounts/sso/login/")
    assert response.status_code == 403
    assert b"could not be reached" in response.content
    response = client.get("/accounts/sso/callback/?code=x&state=never-issued")
    assert response.status_code == 403
    assert b"state not recognised" in response.content
    assert AuditEvent.objects.filter(action="auth.sso_refused").count() == 2


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:alert(1)"]
)
def test_the_sign_in_never_returns_to_another_site(client, settings, monkeypatch, target):
    from urllib.parse import parse_qs, urlsplit

    from sso import provider

    settings.OIDC_ISSUER = "https://login.example.org/t/v2.0"
    settings.OIDC_RP_CLIENT_ID = "engine"
    metadata = provider.ProviderMetadata(
        issuer=settings.OIDC_ISSUER,
        authorization_endpoint="https://login.example.org/authorize",
        token_endpoint="https://login.example.org/token",
        jwks_uri="https://login.example.org/keys",
        userinfo_endpoint="",
    )
    monkeypatch.setattr(provider, "metadata", lambda: metadata)

    response = client.get("/accounts/sso/login/", {"next": target})

    assert response.status_code == 302 and response["Location"].startswith(
        "https://login.example.org/authorize?"
    )
    assert client.session["oidc_login_next"] is None
    assert parse_qs(urlsplit(response["Location"]).query)["redirect_uri"] == [
        "http://testserver/accounts/sso/callback/"
    ]
    assert (
        client.get("/accounts/sso/login/", {"next": "/transcript/"})
        and client.session["oidc_login_next"] == "/transcript/"
    )


@pytest.mark.django_db(transaction=True)
def test_two_first_sign_ins_at_once_make_one_person():
    from tests.concurrency import run_together

    Department.objects.create(name="Nursing", code="nursing")
    results, errors = run_together(
        lambda: services.sign_in(claims=claims(), issuer=ISSUER).pk,
        lambda: services.sign_in(claims=claims(), issuer=ISSUER).pk,
    )
    assert errors == [None, None]
    assert results[0] == results[1] == User.objects.get(employee_id="E500").pk
    assert AuditEvent.objects.filter(action="auth.sso_signed_in", data__provisioned=True).count() == 1
