"""API tokens (django-rest-knox): a new token per login, stored only as a SHA-512 digest, expiring after
`API_TOKEN_TTL_HOURS` (default 10), revoked at logout, at a password change, at deactivation and by an
admin. Every revocation goes through `revoke_tokens`, so the rule lives here.

Authentication is on the hot path (every autosave): one indexed query by the token's 15-character
`token_key` prefix, joined to the user, then a constant-time digest comparison. Expired tokens are
refused here and deleted by a periodic task, never during a request."""

import binascii
from hmac import compare_digest

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken, get_digest_token
from knox.settings import CONSTANTS, knox_settings
from rest_framework.exceptions import AuthenticationFailed

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


class KnoxTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <secret>`: one query, constant-time compare, no writes. A surveyor whose
    access expired is refused too (a token outlives the session).

    The query is written once per process (`_token_rows`), not built by the ORM on every request: on
    the autosave, compiling the token-and-user join was half of the request's CPU (py-spy, issue 18).
    Every request still reads the token row, so a revocation (a deleted row) takes effect at once."""

    def authenticate_credentials(self, token: bytes):
        from .auth import surveyor_expired

        try:
            secret = token.decode("ascii")
            digest = hash_token(secret)
        except (UnicodeDecodeError, TypeError, ValueError, binascii.Error):
            raise AuthenticationFailed(INVALID) from None
        now = timezone.now()
        for row in _token_rows(secret[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if not compare_digest(digest, row.digest):
                continue
            if row.expiry is not None and row.expiry <= now:
                raise AuthenticationFailed(INVALID)
            if not row.user.is_active:
                raise AuthenticationFailed(_("User inactive or deleted."))
            if surveyor_expired(row.user, now):
                raise AuthenticationFailed(_("This surveyor access has expired."))
            return row.user, row
        raise AuthenticationFailed(INVALID)


class _RowReader:
    """SELECT token.*, user.* ... by token_key, built as the ORM builds them, the user cached on the token."""

    def __init__(self):
        from django.contrib.auth import get_user_model

        from core.rows import RowBuilder

        self.token, self.user = RowBuilder(AuthToken), RowBuilder(get_user_model())
        self.sql = (
            f"SELECT {self.token.columns('t')}, {self.user.columns('u')} FROM {self.token.table} t "  # noqa: S608 - names from the models
            f"JOIN {self.user.table} u ON u.id = t.user_id WHERE t.token_key = %s"
        )

    def rows(self, token_key: str) -> list[AuthToken]:
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [token_key])
            fetched = cursor.fetchall()
        out = []
        for values in fetched:
            token = self.token.build(values[: len(self.token)])
            token.user = self.user.build(values[len(self.token) :])
            out.append(token)
        return out


_reader: _RowReader | None = None


def _token_rows(token_key: str) -> list[AuthToken]:
    global _reader
    if _reader is None:
        _reader = _RowReader()
    return _reader.rows(token_key)


class KnoxTokenScheme(OpenApiAuthenticationExtension):
    target_class = KnoxTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=knox_settings.AUTH_HEADER_PREFIX
        )
