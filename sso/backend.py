"""The authentication backend for OpenID Connect sign-ins (mozilla-django-oidc), tightened:

- endpoints from the provider's discovery document (sso/provider.py), not separate settings;
- the ID token's signature (the provider's JWKS), issuer, audience (and `azp` when there are several
  audiences), expiry, issue time and nonce are all checked, each failure with its own clear message;
- claims are the ID token's, plus the userinfo endpoint's when its subject is the same;
- the person is provisioned or updated by sso.services.sign_in (one transaction, audited);
- `get_user` is the password sessions' (accounts.auth): an inactive person's or an expired surveyor's
  session ends (the library's get_user checks nothing);
- a password login of an SSO person is refused when OIDC_LOCAL_PASSWORDS is off.
"""

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from accounts.auth import ExpiringSurveyorBackend

from . import provider, services
from .services import SignInRefused

AGAIN = "Start the sign-in again from the login page."


class SSOBackend(OIDCAuthenticationBackend):
    def __init__(self, *args, **kwargs):
        # The library reads every endpoint here; ours come from discovery, on first use only, so a
        # password login never waits for the provider.
        self.UserModel = get_user_model()

    @property
    def OIDC_RP_CLIENT_ID(self):  # noqa: N802 - the library's attribute names
        return settings.OIDC_RP_CLIENT_ID

    @property
    def OIDC_RP_CLIENT_SECRET(self):  # noqa: N802
        return settings.OIDC_RP_CLIENT_SECRET

    @property
    def OIDC_RP_SIGN_ALGO(self):  # noqa: N802
        return settings.OIDC_RP_SIGN_ALGO

    @property
    def OIDC_RP_IDP_SIGN_KEY(self):  # noqa: N802
        return None

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self):  # noqa: N802
        return provider.metadata().token_endpoint

    @property
    def OIDC_OP_JWKS_ENDPOINT(self):  # noqa: N802
        return provider.metadata().jwks_uri

    @property
    def OIDC_OP_USER_ENDPOINT(self):  # noqa: N802
        return provider.metadata().userinfo_endpoint

    # --- entry points ---------------------------------------------------------------------------

    def authenticate(self, request, sso_callback=False, username=None, **kwargs):
        if username is not None:
            self._refuse_local_password(username)
            return None
        if not sso_callback or not provider.is_configured():
            return None
        try:
            return super().authenticate(request, **kwargs)
        except requests.HTTPError as exc:
            raise SignInRefused(
                "token_request_refused",
                f"The identity provider refused to complete the sign-in ({_oauth_error(exc)}). {AGAIN}",
            ) from exc
        except requests.RequestException as exc:
            raise SignInRefused(
                "provider_unreachable", f"The identity provider could not be reached. {AGAIN}"
            ) from exc
        except provider.ProviderUnavailable as exc:
            raise SignInRefused("provider_unavailable", str(exc)) from exc

    def get_user(self, user_id):
        # A session's user: the same read and checks as a password session's (active, surveyor expiry),
        # which the library's get_user skips. Sessions made by force_login use this first backend too.
        return ExpiringSurveyorBackend().get_user(user_id)

    def _refuse_local_password(self, username) -> None:
        if settings.OIDC_LOCAL_PASSWORDS:
            return
        user = self.UserModel._default_manager.filter(**{self.UserModel.USERNAME_FIELD: username}).first()
        if user is not None and not services.local_password_allowed(user):
            raise PermissionDenied("This account signs in through single sign-on.")

    # --- token checks ---------------------------------------------------------------------------

    def _verify_jws(self, payload, key):
        metadata = provider.metadata()
        try:
            header = jwt.get_unverified_header(payload)
        except jwt.InvalidTokenError as exc:
            raise SignInRefused(
                "token_malformed", f"The identity provider's token is not readable. {AGAIN}"
            ) from exc
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise SignInRefused(
                "token_algorithm",
                f"The identity provider's token is signed with {header.get('alg')!r}, not the expected "
                f"{self.OIDC_RP_SIGN_ALGO!r}. {AGAIN}",
            )
        try:
            claims = jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=metadata.issuer,
                leeway=settings.OIDC_CLOCK_SKEW_SECONDS,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
        except jwt.InvalidSignatureError as exc:
            raise SignInRefused(
                "token_bad_signature",
                f"The identity provider's token failed its signature check: it was not signed by the "
                f"provider's key, or was changed on the way. {AGAIN}",
            ) from exc
        except jwt.ExpiredSignatureError as exc:
            raise SignInRefused(
                "token_expired", f"The identity provider's token has expired. {AGAIN}"
            ) from exc
        except jwt.InvalidAudienceError as exc:
            raise SignInRefused(
                "token_wrong_audience",
                "The identity provider's token was issued for another application (its audience is not "
                "this training engine's client id). The sign-in was refused.",
            ) from exc
        except jwt.InvalidIssuerError as exc:
            raise SignInRefused(
                "token_wrong_issuer",
                "The token was issued by another identity provider. The sign-in was refused.",
            ) from exc
        except jwt.ImmatureSignatureError as exc:
            raise SignInRefused(
                "token_not_yet_valid", f"The identity provider's token is not valid yet. {AGAIN}"
            ) from exc
        except jwt.InvalidTokenError as exc:
            raise SignInRefused(
                "token_invalid", f"The identity provider's token is not valid ({exc}). {AGAIN}"
            ) from exc
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise SignInRefused(
                "token_wrong_audience",
                "The identity provider's token was issued for another application (authorized party). "
                "The sign-in was refused.",
            )
        return claims

    def retrieve_matching_jwk(self, token):
        try:
            return super().retrieve_matching_jwk(token)
        except Exception as exc:  # no key with the token's kid: forged, or signed with an unpublished key
            if isinstance(exc, requests.RequestException):
                raise
            raise SignInRefused(
                "token_bad_signature",
                f"The identity provider's token is signed with a key the provider does not publish. {AGAIN}",
            ) from exc

    def verify_token(self, token, **kwargs):
        if not token:
            raise SignInRefused("no_id_token", f"The identity provider sent no ID token. {AGAIN}")
        key = self.retrieve_matching_jwk(token)
        claims = self._verify_jws(token, key)
        if "nonce" in kwargs and claims.get("nonce") != kwargs["nonce"]:
            raise SignInRefused(
                "nonce_mismatch",
                f"The identity provider's token was not issued for this sign-in (nonce mismatch). {AGAIN}",
            )
        return claims

    def get_userinfo(self, access_token, id_token, payload):
        claims = dict(payload)
        if settings.OIDC_USE_USERINFO and self.OIDC_OP_USER_ENDPOINT and access_token:
            userinfo = super().get_userinfo(access_token, id_token, payload)
            if str(userinfo.get("sub")) != str(payload["sub"]):
                raise SignInRefused(
                    "userinfo_subject_mismatch",
                    f"The identity provider's user information is for another account. {AGAIN}",
                )
            claims.update({k: v for k, v in userinfo.items() if k not in PROTOCOL_CLAIMS})
        return claims

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        user = services.sign_in(claims=claims, issuer=provider.metadata().issuer)
        self.request.sso_claims = claims  # read by the callback view (multi-factor evidence: amr)
        return user


PROTOCOL_CLAIMS = frozenset(
    {"iss", "aud", "exp", "iat", "nbf", "nonce", "azp", "at_hash", "c_hash", "auth_time", "amr", "acr"}
)


def _oauth_error(exc: requests.HTTPError) -> str:
    response = exc.response
    try:
        body = response.json()
        return str(body.get("error_description") or body.get("error") or response.status_code)
    except ValueError:
        return f"HTTP {response.status_code}" if response is not None else "no response"
