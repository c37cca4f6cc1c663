"""Second factor (django-otp): a TOTP authenticator app, plus ten single-use recovery codes (django-otp's
static-token device). Required for the roles in MFA_REQUIRED_ROLES and for anyone who can open the
Django admin; optional for everyone else. The rule is `mfa_required`; the page flow is enforced by
`MFARequiredMiddleware` and the token endpoint calls `check_for_token`.

Flow: the password login creates a session that is not yet verified; every page then sends the person
to /accounts/2fa/verify/ (enrolled) or /accounts/2fa/setup/ (required but not enrolled) until they give
a code. The admin login goes through the same session, so it is protected the same way.

Single sign-on (sso/): when the organisation's identity provider says, in the signed ID token's `amr`
claim, that it did multi-factor authentication (a value in OIDC_MFA_AMR_VALUES, default "mfa": Entra ID
and Okta send it), that session counts as verified here and no second code is asked; the provider's
policy is then the second factor. Otherwise (Google Workspace sends no `amr`; a provider sign-in with a
password only) the rule above applies unchanged after the SSO sign-in: required roles set up or enter
this engine's TOTP code, optional users who enrolled enter theirs. `session_verified` is the one test."""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.dispatch import receiver
from django.shortcuts import redirect
from django_otp import devices_for_user, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.middleware import domain_error_response

from .errors import SecondFactorEnrolmentRequired, SecondFactorRefused, SessionNotVerified
from .models import Role

# Roles that must use a second factor. A new role is one more entry here ("author" and
# "medical_reviewer" apply as soon as those roles exist).
MFA_REQUIRED_ROLES = frozenset({Role.ADMIN, "author", "medical_reviewer"})
RECOVERY_CODE_COUNT = 10
SESSION_ENROLLED = "mfa_enrolled"
SESSION_VERIFIED_BY_PROVIDER = "mfa_verified_by_identity_provider"
EXEMPT_PREFIXES = ("/accounts/2fa/", "/accounts/logout/", "/static/", "/healthz", "/readyz")


def enforced() -> bool:
    return getattr(settings, "MFA_ENFORCED", True)


def mfa_required(user) -> bool:
    """Whether this person must have a second factor (the admin site counts as a privileged role)."""
    return bool(
        user is not None
        and user.is_authenticated
        and (user.role in MFA_REQUIRED_ROLES or user.is_staff or user.is_superuser)
    )


def is_enrolled(user) -> bool:
    return user_has_device(user, confirmed=True)


def provider_did_multi_factor(amr) -> bool:
    """Whether an SSO sign-in's `amr` claim (authentication methods, RFC 8176) shows multi-factor."""
    trusted = set(getattr(settings, "OIDC_MFA_AMR_VALUES", []) or [])
    methods = {amr} if isinstance(amr, str) else set(amr or [])
    return bool(trusted & methods)


def mark_verified_by_identity_provider(request) -> None:
    """After the login of an SSO sign-in whose provider did multi-factor (the login's new session)."""
    request.session[SESSION_VERIFIED_BY_PROVIDER] = True


def session_verified(request) -> bool:
    """A session that has given this engine's code, or whose SSO provider did multi-factor."""
    return request.user.is_verified() or bool(request.session.get(SESSION_VERIFIED_BY_PROVIDER))


# --- services -------------------------------------------------------------------------------------


def start_enrolment(user) -> TOTPDevice:
    """An unconfirmed authenticator for the setup page (the same one until it is confirmed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def new_recovery_codes(user) -> list[str]:
    """Replace the recovery codes; each works once. Shown once, never again."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name="Recovery codes", defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    recovery_codes: list[str]


@transaction.atomic
def confirm_enrolment(*, user, device: TOTPDevice, code: str) -> Enrolment | None:
    """Confirm the authenticator with a first code; it replaces any earlier one. Audited."""
    from core import audit

    if device.user_id != user.pk or device.confirmed or not device.verify_token(_digits(code)):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    codes = new_recovery_codes(user)
    audit.record(action="auth.mfa_enrolled", target=user, actor=user, subject_user_id=user.pk)
    return Enrolment(device=device, recovery_codes=codes)


def verify_code(user, code: str):
    """The device that accepts `code` (an authenticator code or a recovery code), or None. django-otp
    throttles each device after failures (growing delays)."""
    code = (code or "").strip().replace(" ", "").replace("-", "")
    if not code or len(code) > 16:
        return None
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=True, for_verify=True):
            token = _digits(code) if isinstance(device, TOTPDevice) else code.lower()
            if token and device.verify_token(token):
                return device
    return None


def _digits(code: str) -> str:
    code = (code or "").strip().replace(" ", "")
    return code if code.isdigit() and len(code) <= 8 else ""


@transaction.atomic
def disable(*, user, by) -> None:
    """Remove every second-factor device of an optional user (audited)."""
    from core import audit

    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    audit.record(action="auth.mfa_disabled", target=user, actor=by, subject_user_id=user.pk)


# --- enforcement ----------------------------------------------------------------------------------


@receiver(user_logged_in)
def _remember_enrolment(sender, request, user, **kwargs):
    # Decided once per login, so pages do not look up devices on every request.
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_ENROLLED] = is_enrolled(user)


def check_for_token(user, code: str | None) -> None:
    """For the token endpoint: returns when the login may have a token, else raises
    SecondFactorEnrolmentRequired (403) or SecondFactorRefused (400, a missing or wrong `otp`)."""
    if not enforced():
        return
    enrolled = is_enrolled(user)
    if not enrolled and not mfa_required(user):
        return
    if not enrolled:
        raise SecondFactorEnrolmentRequired(
            "This account must set up two-step verification first: log in on the website."
        )
    if not code:
        raise SecondFactorRefused("This account uses two-step verification: send the current code as `otp`.")
    if verify_code(user, str(code)) is None:
        raise SecondFactorRefused("The code is not valid (or too many attempts: wait and try again).")


class MFARequiredMiddleware:
    """After django_otp's OTPMiddleware: an authenticated but unverified session reaches only the
    second-factor pages and logout until a code is given."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if enforced() and not request.path.startswith(EXEMPT_PREFIXES):
            user = request.user
            if user.is_authenticated and not session_verified(request):
                enrolled = request.session.get(SESSION_ENROLLED)
                if enrolled is None:
                    enrolled = request.session[SESSION_ENROLLED] = is_enrolled(user)
                if enrolled or mfa_required(user):
                    return self._refuse(request, "verify" if enrolled else "setup")
        return self.get_response(request)

    @staticmethod
    def _refuse(request, step: str):
        if request.path.startswith("/api/"):
            return domain_error_response(
                request, SessionNotVerified("Two-step verification is required for this session.")
            )
        target = f"/accounts/2fa/{step}/"
        if request.method == "GET":
            target += "?" + urlencode({"next": request.get_full_path()})
        return redirect(target)


@transaction.atomic
def enrol_for_demo(user) -> tuple[str, str, list[str]]:
    """The embedded demo only (seed_demo): give the demo admin an authenticator key and fresh recovery
    codes to print, so the required second factor can be used without a setup step. Returns
    (otpauth URL, base32 key, recovery codes)."""
    from base64 import b32encode

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Demo authenticator", confirmed=True)
    return device.config_url, b32encode(device.bin_key).decode(), new_recovery_codes(user)
