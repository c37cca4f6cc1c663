"""Single sign-on against a real OpenID Connect provider (tests/sso/provider, its own process), driven
through the browser: the login page's button, first sign-in provisions and assigns exactly as a staff
CSV import does, a changed department moves the person, and a token for another audience, an expired
token, a forged one and a replayed response are each refused with a clear message."""

from urllib.parse import parse_qs, urlparse

import pytest

from accounts import services as account_services
from accounts.models import Department, Role, User
from core.models import AuditEvent
from courses.assignments import services as assignments
from courses.models import AssignmentRule, Enrollment
from sso.models import SSOIdentity
from tests.e2e.conftest import axe_violations
from tests.factories import UserFactory
from tests.onboarding_helpers import make_course, make_rule
from tests.sso.conftest import PASSWORD, screenshot

pytestmark = [pytest.mark.sso, pytest.mark.e2e]

BUTTON = "Sign in with Lakeside Health"


@pytest.fixture
def organisation(db):
    """Two departments, the supervisor the provider names (E001), and rules by department, job title
    and for everyone."""
    nursing = Department.objects.create(name="Nursing", code="nursing")
    residential = Department.objects.create(name="Residential unit", code="residential")
    UserFactory(username="sam", employee_id="E001", role=Role.SUPERVISOR, department=nursing)
    everyone = make_course("overdose-response")
    make_rule(everyone)
    make_rule(
        make_course("medication-safety"), audience=AssignmentRule.Audience.DEPARTMENT, department=nursing
    )
    make_rule(
        make_course("withdrawal-care"), audience=AssignmentRule.Audience.DEPARTMENT, department=residential
    )
    make_rule(make_course("nurse-skills"), audience=AssignmentRule.Audience.JOB_TITLE, job_title="Nurse")
    return {"nursing": nursing, "residential": residential}


def courses_of(user) -> list[tuple[str, object, str]]:
    return sorted(
        Enrollment.objects.filter(user=user).values_list("course__slug", "due_date", "source"),
    )


def start_sign_in(page, base: str, username: str) -> None:
    """From the engine's login page through the provider's own login form."""
    page.goto(f"{base}/accounts/login/")
    page.get_by_role("button", name=BUTTON).click()
    if page.locator("#op-username").count() or page.url.startswith("http://127.0.0.1"):
        page.wait_for_selector("#op-username")
        page.fill("#op-username", username)
        page.fill("#op-password", PASSWORD)
        page.click("#op-submit")


def sign_in(page, base: str, username: str) -> None:
    start_sign_in(page, base, username)
    page.wait_for_url(
        lambda url: url.startswith(base) and "/accounts/sso/" not in url and "/login" not in url
    )


def refused(page, base: str, username: str) -> str:
    start_sign_in(page, base, username)
    page.wait_for_url(lambda url: url.startswith(f"{base}/accounts/sso/callback/"))
    page.get_by_role("heading", name="Sign-in refused").wait_for()
    return page.get_by_role("alert").inner_text()


def test_login_page_shows_the_button_only_when_configured(live_server, page, settings, oidc_provider):
    settings.OIDC_ISSUER = ""
    page.goto(f"{live_server.url}/accounts/login/")
    assert page.get_by_role("button", name="Log in").is_visible()
    assert page.get_by_role("button", name="Sign in with").count() == 0

    settings.OIDC_ISSUER = oidc_provider.issuer
    settings.OIDC_RP_CLIENT_ID = "training-engine"
    settings.OIDC_PROVIDER_NAME = "Lakeside Health"
    page.goto(f"{live_server.url}/accounts/login/?next=/courses/")
    button = page.get_by_role("button", name=BUTTON)
    assert button.is_visible()
    assert button.get_attribute("href") == "/accounts/sso/login/?next=/courses/"
    screenshot(page, "sso-login-page")
    assert axe_violations(page) == []

    page.set_viewport_size(
        {"width": 375, "height": 740}
    )  # a phone: the button fits, nothing scrolls sideways
    assert button.bounding_box()["width"] <= 375
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "sso-login-page-phone")


def test_first_sign_in_provisions_and_assigns_exactly_as_a_staff_import(
    live_server, page, provider, organisation
):
    requests_seen = []
    page.on("request", lambda request: requests_seen.append(request.url))

    sign_in(page, live_server.url, "kim")

    kim = User.objects.get(employee_id="E100")
    assert (kim.first_name, kim.last_name, kim.email) == ("Kim", "Nakamura", "kim.nakamura@example.org")
    assert (kim.department.code, kim.job_title, kim.supervisor.username, kim.role) == (
        "nursing",
        "Nurse",
        "sam",
        Role.LEARNER,
    )
    assert not kim.has_usable_password()
    assert SSOIdentity.objects.get(user=kim).issuer == provider.issuer
    assert [slug for slug, _, _ in courses_of(kim)] == [
        "medication-safety",
        "nurse-skills",
        "overdose-response",
    ]
    assert page.get_by_role("heading", name="My courses").is_visible()
    event = AuditEvent.objects.get(action="auth.sso_signed_in")
    assert (event.subject_user_id, event.data["provisioned"]) == (kim.pk, True)

    # The authorization request: code flow with PKCE (S256), a state and a nonce.
    authorize = next(url for url in requests_seen if "/openid/authorize" in url)
    query = parse_qs(urlparse(authorize).query)
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["state"][0] and query["nonce"][0]

    # The same person from the staff CSV import gets the same courses and due dates.
    report = assignments.import_staff(
        text="employee_id,first_name,last_name,email,role,department,supervisor_employee_id,hire_date,job_title\n"
        "E101,Kim,Twin,kim.twin@example.org,learner,Nursing,E001,,Nurse\n",
        commit=True,
    )
    assert report.committed
    twin = User.objects.get(employee_id="E101")
    assert courses_of(twin) == courses_of(kim)


def test_a_changed_department_at_the_provider_moves_the_person(
    live_server, page, provider, organisation, settings
):
    settings.OIDC_TOKEN_USE_BASIC_AUTH = True  # client_secret_basic at the token endpoint (Okta's default)
    sign_in(page, live_server.url, "kim")
    kim = User.objects.get(employee_id="E100")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/accounts/login/**")

    provider.set_claims(
        "kim", department="Residential unit", job_title="Recovery coach", groups=["Shift-Supervisors"]
    )
    sign_in(page, live_server.url, "kim")

    kim.refresh_from_db()
    assert (kim.department.code, kim.job_title, kim.role) == (
        "residential",
        "Recovery coach",
        Role.SUPERVISOR,
    )
    assert User.objects.filter(first_name="Kim").count() == 1
    assert "withdrawal-care" in [slug for slug, _, _ in courses_of(kim)]
    latest = AuditEvent.objects.filter(action="auth.sso_signed_in").order_by("-pk").first()
    assert latest.data["provisioned"] is False
    assert latest.data["changed"] == ["department_id", "job_title", "role"]
    assert AuditEvent.objects.filter(action="user.role_changed", data__via="single sign-on").exists()


@pytest.mark.parametrize(
    ("fault", "reason", "words"),
    [
        ({"aud": "another-application"}, "token_wrong_audience", "issued for another application"),
        ({"expired": True}, "token_expired", "token has expired"),
        ({"forge": True}, "token_bad_signature", "failed its signature check"),
    ],
    ids=["wrong-audience", "expired", "bad-signature"],
)
def test_a_bad_token_is_refused_with_a_clear_message(
    live_server, page, provider, organisation, fault, reason, words
):
    provider.set_faults(fault)

    message = refused(page, live_server.url, "kim")

    assert words in message
    assert not User.objects.filter(employee_id__in=["E100", "FORGED-1"]).exists()
    assert list(
        AuditEvent.objects.filter(action="auth.sso_refused").values_list("data__reason", flat=True)
    ) == [reason]
    screenshot(page, f"sso-refused-{reason}")
    assert axe_violations(page) == []
    assert page.get_by_role("link", name="Back to the login page").is_visible()


def test_a_replayed_response_is_refused(live_server, page, provider, organisation):
    callbacks = []
    page.on(
        "request",
        lambda request: callbacks.append(request.url) if "/accounts/sso/callback/" in request.url else None,
    )
    sign_in(page, live_server.url, "kim")
    assert len(callbacks) == 1

    page.goto(callbacks[0])  # the same code and state again, in the same browser

    assert "state not recognised" in page.get_by_role("alert").inner_text()
    assert (
        AuditEvent.objects.filter(action="auth.sso_refused", data__reason="state_not_recognised").count() == 1
    )


def test_a_person_deactivated_here_stays_deactivated(live_server, page, provider, organisation):
    sign_in(page, live_server.url, "kim")
    kim = User.objects.get(employee_id="E100")
    account_services.deactivate_user(user=kim)

    page.goto(f"{live_server.url}/")  # the open session ends at once
    page.wait_for_url("**/accounts/login/**")
    message = refused(page, live_server.url, "kim")

    assert "deactivated in the training engine" in message
    kim.refresh_from_db()
    assert not kim.is_active


def test_a_claim_the_engine_cannot_use_is_refused(live_server, page, provider, organisation):
    assert "sent no employee id" in refused(page, live_server.url, "nobody")
    provider.set_claims("kim", department="Pharmacy")
    page.context.clear_cookies()
    assert "department 'Pharmacy' does not exist" in refused(page, live_server.url, "kim")
    assert not User.objects.filter(employee_id="E100").exists()


@pytest.mark.parametrize(("amr", "lands_on"), [(["pwd"], "/accounts/2fa/setup/"), (["pwd", "mfa"], "/")])
def test_second_factor_for_a_required_role_comes_from_the_provider_or_the_engine(
    live_server, page, provider, organisation, settings, amr, lands_on
):
    settings.MFA_ENFORCED = True
    provider.set_faults({"amr": amr})

    start_sign_in(page, live_server.url, "ola")
    page.wait_for_url(lambda url: url.startswith(live_server.url) and "/accounts/sso/" not in url)

    assert User.objects.get(employee_id="E200").role == Role.ADMIN
    assert urlparse(page.url).path == lands_on, page.url
