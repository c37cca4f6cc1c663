"""Fixed-window rate limits in the shared cache (Redis or the database), never in process memory."""

import time

from django.core.cache import cache


def client_address(request) -> str:
    # Behind a trusted proxy, set the proxy to overwrite X-Forwarded-For; REMOTE_ADDR otherwise.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return forwarded.split(",")[0].strip() or request.META.get("REMOTE_ADDR", "unknown")


def hit(*, scope: str, key: str, limit: int, window_seconds: int = 60) -> bool:
    """Count one request; True while the caller is within `limit` requests per window."""
    window = int(time.time() // window_seconds)
    cache_key = f"rl:{scope}:{key}:{window}"
    if cache.add(cache_key, 1, timeout=window_seconds + 5):
        return True
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout=window_seconds + 5)
        return True
    return count <= limit
