"""pylti1p3 wired to this project: registrations read from the Platform rows, the tool's key from
lti.keys, nonces and launch data in the shared cache, HTTP calls with timeouts.

Why the cache and not the browser session: the launch is a cross-site form POST from the platform, so
the session cookie (SameSite=Lax) does not come with it. The browser is bound to the login by pylti1p3's
state cookie (`lti1p3-state-...`, SameSite=None; Secure over HTTPS); the nonce is single use: the
launch deletes it, and only the request that deleted it goes on (a replayed id_token finds it gone, and
one that arrives after LTI_NONCE_SECONDS finds it expired)."""

import time

import requests
from django.conf import settings
from django.core.cache import cache
from pylti1p3.contrib.django import DjangoMessageLaunch, DjangoOIDCLogin
from pylti1p3.contrib.django.cookie import DjangoCookieService
from pylti1p3.contrib.django.request import DjangoRequest
from pylti1p3.deployment import Deployment as LtiDeployment
from pylti1p3.registration import Registration
from pylti1p3.service_connector import REQUESTS_USER_AGENT, ServiceConnector
from pylti1p3.session import SessionService
from pylti1p3.tool_config import ToolConfAbstract

from . import keys
from .models import Deployment, Platform

HTTP_TIMEOUT_SECONDS = 10


class TimeoutSession(requests.Session):
    """pylti1p3 calls requests without a timeout; a platform that hangs must not hang a worker."""

    def __init__(self):
        super().__init__()
        self.headers["User-Agent"] = REQUESTS_USER_AGENT

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", HTTP_TIMEOUT_SECONDS)
        return super().request(*args, **kwargs)


def registration_for(platform: Platform) -> Registration:
    key = keys.signing_key()
    return (
        Registration()
        .set_issuer(platform.issuer)
        .set_client_id(platform.client_id)
        .set_auth_login_url(platform.auth_login_url)
        .set_auth_token_url(platform.auth_token_url)
        .set_auth_audience(platform.auth_audience or None)
        .set_key_set_url(platform.jwks_url)
        .set_tool_private_key(key.private_key_pem)
        .set_tool_public_key(key.public_key_pem)
    )


def find_platform(iss: str, client_id: str | None) -> Platform | None:
    """The active registration for an issuer (and client id, when the request names one)."""
    platforms = Platform.objects.filter(issuer=iss, is_active=True)
    if client_id:
        platforms = platforms.filter(client_id=client_id)
    found = list(platforms[:2])
    return found[0] if len(found) == 1 else None


class PlatformToolConf(ToolConfAbstract):
    """Every issuer may hold several client ids (one Moodle, two registrations): always look up by both."""

    def check_iss_has_one_client(self, iss):
        return False

    def check_iss_has_many_clients(self, iss):
        return True

    def find_registration_by_issuer(self, iss, *args, **kwargs):
        return self.find_registration_by_params(iss, None)

    def find_registration_by_params(self, iss, client_id, *args, **kwargs):
        platform = find_platform(iss, client_id)
        return registration_for(platform) if platform else None

    def find_deployment(self, iss, deployment_id):
        return self.find_deployment_by_params(iss, deployment_id, None)

    def find_deployment_by_params(self, iss, deployment_id, client_id, *args, **kwargs):
        platform = find_platform(iss, client_id)
        if platform is None or not deployment_id:
            return None
        if not Deployment.objects.filter(
            platform=platform, deployment_id=deployment_id, is_active=True
        ).exists():
            return None
        return LtiDeployment().set_deployment_id(deployment_id)


class CacheLaunchStore(SessionService):
    """Nonces (single use) and launch data (for the deep-linking choice) in the shared cache."""

    def __init__(self):  # no browser session: see the module's docstring
        pass

    @staticmethod
    def _nonce_key(nonce: str) -> str:
        return f"lti:nonce:{nonce}"

    def save_nonce(self, nonce):
        deadline = time.time() + settings.LTI_NONCE_SECONDS
        cache.set(self._nonce_key(nonce), deadline, timeout=settings.LTI_NONCE_SECONDS)

    def check_nonce(self, nonce):
        # get() honours expiry on every backend; delete() is the atomic "first one wins" (Redis DEL, the
        # database's DELETE row count) but on some backends also "deletes" an expired entry.
        deadline = cache.get(self._nonce_key(nonce))
        consumed = cache.delete(self._nonce_key(nonce))
        return bool(consumed) and deadline is not None and deadline > time.time()

    def save_launch_data(self, key, jwt_body):
        cache.set(f"lti:launch:{key}", jwt_body, timeout=settings.LTI_LAUNCH_DATA_SECONDS)

    def get_launch_data(self, key):
        return cache.get(f"lti:launch:{key}")

    def save_state_params(self, state, params):
        pass

    def get_state_params(self, state):
        return {}

    def set_state_valid(self, state, id_token_hash):
        pass

    def check_state_is_valid(self, state, id_token_hash):
        return False  # the state cookie is always required


def oidc_login(request) -> DjangoOIDCLogin:
    django_request = DjangoRequest(request)
    return DjangoOIDCLogin(
        django_request,
        PlatformToolConf(),
        session_service=CacheLaunchStore(),
        cookie_service=DjangoCookieService(django_request),
    )


def message_launch(request) -> DjangoMessageLaunch:
    django_request = DjangoRequest(request, post_only=True)
    return DjangoMessageLaunch(
        django_request,
        PlatformToolConf(),
        session_service=CacheLaunchStore(),
        cookie_service=DjangoCookieService(django_request),
        requests_session=TimeoutSession(),
    )


def service_connector(platform: Platform) -> ServiceConnector:
    return ServiceConnector(registration_for(platform), TimeoutSession())


def restored_launch(request, launch_id: str) -> DjangoMessageLaunch:
    """A verified launch kept in the cache (the deep-linking choice comes back in a second request)."""
    django_request = DjangoRequest(request, post_only=True)
    return DjangoMessageLaunch.from_cache(
        launch_id,
        django_request,
        PlatformToolConf(),
        session_service=CacheLaunchStore(),
        cookie_service=DjangoCookieService(django_request),
        requests_session=TimeoutSession(),
    )
