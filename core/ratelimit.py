"""Fixed-window rate limits in the shared cache (Redis or the database), never in process memory.

When the shared store itself is down (Redis stopped), limits fail open with a logged warning: a cache
outage must not turn every page that counts requests (login, verification) into a 500."""

import logging
import time

from django.core.cache import cache

logger = logging.getLogger(__name__)


def client_address(request) -> str:
    # Behind a trusted proxy, set the proxy to overwrite X-Forwarded-For; REMOTE_ADDR otherwise.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return forwarded.split(",")[0].strip() or request.META.get("REMOTE_ADDR", "unknown")


def _cache_key(scope: str, key: str, window_seconds: int) -> str:
    window = int(time.time() // window_seconds)
    return f"rl:{scope}:{key}:{window}"


def hit(*, scope: str, key: str, limit: int, window_seconds: int = 60) -> bool:
    """Count one request; True while the caller is within `limit` requests per window."""
    cache_key = _cache_key(scope, key, window_seconds)
    try:
        if cache.add(cache_key, 1, timeout=window_seconds + 5):
            return True
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.add(cache_key, 1, timeout=window_seconds + 5)
            return True
    except Exception as exc:  # the shared store is down: fail open, loudly
        logger.warning(
            "rate limit store unavailable (%s: %s); %s not counted", type(exc).__name__, exc, scope
        )
        return True
    return count <= limit


def count(*, scope: str, key: str, window_seconds: int = 60) -> int:
    """Requests counted by `hit` in the current window (0 when none, or when the store is down)."""
    try:
        return int(cache.get(_cache_key(scope, key, window_seconds)) or 0)
    except Exception as exc:
        logger.warning("rate limit store unavailable (%s: %s); %s not read", type(exc).__name__, exc, scope)
        return 0
