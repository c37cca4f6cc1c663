"""API token authentication (django-rest-knox): `Authorization: Token <secret>` on the hot path (every
autosave). The tokens themselves (issue, revoke, purge) are accounts.tokens; this module checks the
account behind a token (active, surveyor access not expired). Apart from accounts.tokens so that the
tokens, which the user model revokes on a password change, import no access rule (no import cycle)."""

import binascii
from hmac import compare_digest

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS, knox_settings
from rest_framework.exceptions import AuthenticationFailed

from .access import surveyor_expired
from .tokens import INVALID


class KnoxTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <secret>`: one query, constant-time compare, no writes. A surveyor whose
    access expired is refused too (a token outlives the session).

    The query is written once per process (`_token_rows`), not built by the ORM on every request: on
    the autosave, compiling the token-and-user join was half of the request's CPU (py-spy, issue 18).
    Every request still reads the token row, so a revocation (a deleted row) takes effect at once."""

    def authenticate_credentials(self, token: bytes):
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
