"""Single sign-on writes: each sign-in provisions or updates the person in one transaction (audited),
through the staff CSV import's own validation and commit (courses.assignments.services.commit_staff_report), so
the assignment rules run exactly as they do for an import. Refusals are audited by `record_refusal`."""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import staff_import
from accounts.models import Role, User
from core import audit
from core.errors import DomainError

from . import claims as claim_map
from .models import SSOIdentity


class SignInRefused(DomainError):
    """A sign-in the engine refuses: `message` is what the person reads, `reason` a stable code (the
    domain error's `code`)."""

    http_status = 403

    def __init__(
        self,
        reason: str,
        message: str,
        subject: str = "",
        user_id: int | None = None,
        data: dict | None = None,
    ):
        super().__init__(message)
        self.reason = self.code = reason
        self.subject = subject
        self.user_id = user_id
        self.data = data or {}

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


ASK = "Ask your training coordinator."


def sign_in(*, claims: dict, issuer: str, now=None) -> User:
    """The person these verified claims describe, created on the first sign-in (just in time) and
    updated on later ones. Raises SignInRefused (nothing written) when the engine must say no.

    Two first sign-ins of one person at once (a double click, two tabs) both find nobody; the second
    to commit hits the unique employee id or subject and is rolled back whole, and its retry finds the
    person the first one created."""
    try:
        return _sign_in(claims=claims, issuer=issuer, now=now)
    except IntegrityError:
        return _sign_in(claims=claims, issuer=issuer, now=now)


@transaction.atomic
def _sign_in(*, claims: dict, issuer: str, now=None) -> User:
    now = now or timezone.now()
    subject = str(claims.get("sub") or "")
    employee_id = claim_map._text(claims.get(claim_map.claim_name("employee_id")))
    if not subject:
        raise SignInRefused("no_subject", "The identity provider sent no subject (sub) for your account.")
    if not employee_id:
        raise SignInRefused(
            "no_employee_id",
            f"The identity provider sent no employee id (claim '{claim_map.claim_name('employee_id')}'), "
            f"which the training engine needs to recognise you. {ASK}",
            subject=subject,
        )
    for requirement in settings.OIDC_REQUIRE_CLAIMS:
        name, _, value = requirement.partition("=")
        if str(claims.get(name.strip(), "")) != value.strip():
            raise SignInRefused(
                "outside_organisation",
                f"This account is not one of the organisation's (claim '{name.strip()}'). Sign in with your "
                "work account.",
                subject=subject,
                data={"claim": name.strip(), "value": str(claims.get(name.strip(), ""))[:200]},
            )
    identity = (
        SSOIdentity.objects.select_for_update()
        .select_related("user")
        .filter(issuer=issuer, subject=subject)
        .first()
    )
    by_employee_id = User.objects.select_for_update().filter(employee_id=employee_id).first()
    person = identity.user if identity else by_employee_id
    if identity and by_employee_id != identity.user:
        raise SignInRefused(
            "employee_id_mismatch",
            f"Your employee id at the identity provider ({employee_id}) is not the one your training "
            f"record has. {ASK}",
            subject=subject,
            user_id=identity.user_id,
        )
    if identity is None and person is not None and SSOIdentity.objects.filter(user=person).exists():
        raise SignInRefused(
            "linked_to_another_subject",
            f"The training record of employee {employee_id} is already linked to another sign-in account. {ASK}",
            subject=subject,
            user_id=person.pk,
        )
    if person is not None:
        if not person.is_active:
            # Deactivated here stays deactivated, whatever the provider says.
            raise SignInRefused(
                "deactivated",
                f"Your account has been deactivated in the training engine. {ASK}",
                subject=subject,
                user_id=person.pk,
            )
        if person.service_account or person.role == Role.SURVEYOR:
            raise SignInRefused(
                "not_for_sso",
                "This account cannot sign in through single sign-on: use its own login.",
                subject=subject,
                user_id=person.pk,
            )
    if person is None and not settings.OIDC_CREATE_USERS:
        raise SignInRefused(
            "not_provisioned",
            f"There is no training record for employee {employee_id} yet. {ASK}",
            subject=subject,
        )
    wanted_supervisor = claim_map._text(claims.get(claim_map.claim_name("supervisor_employee_id")))
    known = set(User.objects.filter(employee_id=wanted_supervisor).values_list("employee_id", flat=True))
    row = claim_map.staff_row(claims, current=person, known_employee_ids=known)
    report = staff_import.validate([row])
    if not report.ok:
        problems = "; ".join(report.rows[0].errors)
        raise SignInRefused(
            "claims_not_usable",
            f"Your details from the identity provider could not be used ({problems}). {ASK}",
            subject=subject,
            user_id=person.pk if person else None,
            data={"errors": report.rows[0].errors},
        )
    from courses.assignments.services import commit_staff_report

    commit_staff_report(report, actor=None, via="single sign-on")
    user = User.objects.get(employee_id=employee_id)
    if identity is None:
        identity = SSOIdentity.objects.create(
            user=user, issuer=issuer, subject=subject, linked_at=now, last_sign_in_at=now
        )
    else:
        identity.last_sign_in_at = now
        identity.save(update_fields=["last_sign_in_at"])
    if not settings.OIDC_LOCAL_PASSWORDS and user.has_usable_password():
        user.set_unusable_password()
        user.save(update_fields=["password"])
    result = report.rows[0]
    audit.record(
        action="auth.sso_signed_in",
        target=user,
        actor=user,
        subject_user_id=user.pk,
        data={
            "issuer": issuer,
            "subject": subject,
            "provisioned": result.action == "create",
            "changed": sorted(result.changes) if result.action == "update" else [],
        },
    )
    return user


@transaction.atomic
def record_refusal(refusal: SignInRefused, *, issuer: str) -> None:
    """Audit a refused sign-in (its own transaction: the sign-in itself wrote nothing)."""
    audit.record(
        action="auth.sso_refused",
        target=("sso", (refusal.subject or "unknown")[:64]),
        actor=None,
        subject_user_id=refusal.user_id,
        data={"reason": refusal.reason, "issuer": issuer, **refusal.data},
    )


def local_password_allowed(user) -> bool:
    """Whether this person may log in with a local password (site, admin, API token): always, unless
    OIDC_LOCAL_PASSWORDS is off and they sign in through SSO."""
    return settings.OIDC_LOCAL_PASSWORDS or not SSOIdentity.objects.filter(user=user).exists()
