"""The configured OpenID provider: whether SSO is on, and its discovery document (endpoints), fetched
on first use and kept for an hour. The discovery document must name the configured issuer."""

import threading
import time
from dataclasses import dataclass

import requests
from django.conf import settings

DISCOVERY_TTL_SECONDS = 3600
_cache: dict[str, tuple[float, "ProviderMetadata"]] = {}
_lock = threading.Lock()


class ProviderUnavailable(Exception):
    pass


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str


def is_configured() -> bool:
    return bool(getattr(settings, "OIDC_ISSUER", "") and getattr(settings, "OIDC_RP_CLIENT_ID", ""))


def metadata() -> ProviderMetadata:
    issuer = settings.OIDC_ISSUER
    with _lock:
        cached = _cache.get(issuer)
        if cached and time.monotonic() - cached[0] < DISCOVERY_TTL_SECONDS:
            return cached[1]
    url = f"{issuer}/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable(f"The identity provider could not be reached ({url}).") from exc
    if str(document.get("issuer", "")).rstrip("/") != issuer:
        raise ProviderUnavailable(
            f"The identity provider's discovery document names issuer {document.get('issuer')!r}, "
            f"not the configured {issuer!r}."
        )
    found = ProviderMetadata(
        issuer=document["issuer"],
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        jwks_uri=document["jwks_uri"],
        userinfo_endpoint=document.get("userinfo_endpoint", ""),
    )
    with _lock:
        _cache[issuer] = (time.monotonic(), found)
    return found


def forget() -> None:
    """Drop the cached discovery documents (tests; a changed provider)."""
    with _lock:
        _cache.clear()
