"""Login throttling: failed logins counted in the shared cache (Redis in production, the database
cache in the embedded run), so the limit holds across every web process and server.

Three counters per failure, all over a fixed 15-minute window:
- username + client address (LOGIN_FAILURE_LIMIT, default 10): the ordinary brute-force case;
- username alone (LOGIN_FAILURE_USERNAME_LIMIT, default 50): an attacker who rotates addresses still
  meets a ceiling per account;
- client address alone (LOGIN_FAILURE_ADDRESS_LIMIT, default 50): one address spraying passwords
  across many usernames meets a ceiling too.
The client address is core.ratelimit.client_address (X-Forwarded-For only through trusted proxies).

While either counter is at its limit the login is refused before the password is checked, with a
clear message; a correct password does not get through until the window has passed."""

import hashlib

from django.conf import settings

from core.ratelimit import client_address, count, hit

MESSAGE = (
    "Too many failed login attempts for this account or from this network. For your security, logging "
    "in is paused for up to 15 minutes. Wait and try again, or reset your password."
)
RETRY_AFTER_SECONDS = 900


def _limits() -> tuple[int, int, int, int]:
    return (
        getattr(settings, "LOGIN_FAILURE_LIMIT", 10),
        getattr(settings, "LOGIN_FAILURE_USERNAME_LIMIT", 50),
        getattr(settings, "LOGIN_FAILURE_ADDRESS_LIMIT", 50),
        getattr(settings, "LOGIN_FAILURE_WINDOW_SECONDS", RETRY_AFTER_SECONDS),
    )


def _keys(username: str, address: str) -> tuple[str, str, str]:
    user = hashlib.sha256((username or "").strip().lower().encode()).hexdigest()[:32]
    pair = hashlib.sha256(f"{user}|{address}".encode()).hexdigest()[:32]
    where = hashlib.sha256(address.encode()).hexdigest()[:32]
    return pair, user, where


def is_blocked(*, username: str, request) -> bool:
    """True while this username (from this address, or overall) or this address is at its limit."""
    limit, username_limit, address_limit, window = _limits()
    pair, user, where = _keys(username, client_address(request))
    return (
        count(scope="login-fail", key=pair, window_seconds=window) >= limit
        or count(scope="login-fail-user", key=user, window_seconds=window) >= username_limit
        or count(scope="login-fail-addr", key=where, window_seconds=window) >= address_limit
    )


def record_failure(*, username: str, request) -> None:
    limit, username_limit, address_limit, window = _limits()
    pair, user, where = _keys(username, client_address(request))
    hit(scope="login-fail", key=pair, limit=limit, window_seconds=window)
    hit(scope="login-fail-user", key=user, limit=username_limit, window_seconds=window)
    hit(scope="login-fail-addr", key=where, limit=address_limit, window_seconds=window)
