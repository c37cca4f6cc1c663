"""API tokens (django-rest-knox): a new token per login, stored only as a SHA-512 digest, expiring after
`API_TOKEN_TTL_HOURS` (default 10), revoked at logout, at a password change, at deactivation and by an
admin. Every revocation goes through `revoke_tokens`, so the rule lives here.

Authentication is on the hot path (every autosave): one indexed query by the token's 15-character
`token_key` prefix, joined to the user, then a constant-time digest comparison. Expired tokens are
refused here and deleted by a periodic task, never during a request."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.models import AuthToken, get_digest_token
from knox.settings import CONSTANTS, knox_settings

INVALID = _("Invalid or expired token.")


def build_token(user) -> tuple[AuthToken, str]:
    """An unsaved token row and its secret (for bulk creation in test and benchmark seeds)."""
    digest, secret = get_digest_token()
    row = AuthToken(
        digest=digest,
        token_key=secret[: CONSTANTS.TOKEN_KEY_LENGTH],
        user=user,
        expiry=timezone.now() + knox_settings.TOKEN_TTL,
    )
    return row, secret


def issue_token(user) -> tuple[AuthToken, str]:
    """A new token for one login; the secret is returned once and never stored."""
    return AuthToken.objects.create(user=user)


def revoke_tokens(*, user, reason: str, by=None, token: AuthToken | None = None) -> int:
    """Delete one token (logout) or every token of `user`; audited. Returns how many were deleted."""
    from core import audit

    with transaction.atomic():
        rows = AuthToken.objects.filter(user=user)
        if token is not None:
            rows = rows.filter(digest=token.digest)
        deleted, _ = rows.delete()
        if deleted:
            audit.record(
                action="auth.tokens_revoked",
                target=user,
                actor=by,
                subject_user_id=user.pk,
                data={"reason": reason, "count": deleted},
            )
    return deleted


def purge_expired_tokens() -> int:
    deleted, _ = AuthToken.objects.filter(expiry__lt=timezone.now()).delete()
    return deleted
