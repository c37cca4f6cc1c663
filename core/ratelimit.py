"""Fixed-window rate limits in the shared cache (Redis or the database), never in process memory.

When the shared store itself is down (Redis stopped), limits fail open with a logged warning: a cache
outage must not turn every page that counts requests (login, verification) into a 500."""

import ipaddress
import logging
import time

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)


def client_address(request) -> str:
    """The client's address for rate limits: `X-Forwarded-For` is read only through the number of proxies
    in front of the app that the deployment trusts (TRUSTED_PROXY_COUNT, default 0: REMOTE_ADDR).

    Each trusted proxy appends the address it received the request from, so with N trusted proxies the
    client is the Nth entry from the right; anything to its left was written by the client and is
    ignored (rotating it must not move a limit)."""
    remote = request.META.get("REMOTE_ADDR") or "unknown"
    trusted = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if trusted <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < trusted:
        return remote  # fewer hops than trusted proxies: the request did not come through them all
    candidate = hops[-trusted]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def _cache_key(scope: str, key: str, window_seconds: int) -> str:
    window = int(time.time() // window_seconds)
    return f"rl:{scope}:{key}:{window}"


def _redis_client():
    """The redis-py client behind Django's Redis cache, or None for any other backend."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    return backend._cache.get_client(write=True)


def hit_and_get(
    *, scope: str, key: str, limit: int, get: str, window_seconds: int = 60
) -> tuple[bool, str | None]:
    """`hit`, and read the string cached under `get` (see `cache_text`), in one Redis round trip: a hot
    public endpoint (certificate verification) pays one network round trip for its limit and its answer."""
    client = _redis_client()
    if client is None:
        return hit(scope=scope, key=key, limit=limit, window_seconds=window_seconds), cached_text(get)
    counter = cache.make_and_validate_key(_cache_key(scope, key, window_seconds))
    try:
        pipe = client.pipeline(transaction=False)
        pipe.incr(counter)
        pipe.expire(counter, window_seconds + 5)
        pipe.get(cache.make_and_validate_key(get))
        count, _, value = pipe.execute()
    except Exception as exc:  # the shared store is down: fail open, loudly, and read nothing
        logger.warning(
            "rate limit store unavailable (%s: %s); %s not counted", type(exc).__name__, exc, scope
        )
        return True, None
    return count <= limit, value.decode() if isinstance(value, bytes) else value


def cache_text(key: str, text: str, *, timeout: int) -> None:
    """Store a string readable by `hit_and_get` (raw in Redis, through the cache API elsewhere)."""
    try:
        client = _redis_client()
        if client is None:
            cache.set(key, text, timeout=timeout)
        else:
            client.set(cache.make_and_validate_key(key), text.encode(), ex=timeout)
    except Exception as exc:
        logger.warning("cache unavailable (%s: %s); %s not stored", type(exc).__name__, exc, key)


def cached_text(key: str) -> str | None:
    try:
        client = _redis_client()
        if client is None:
            return cache.get(key)
        value = client.get(cache.make_and_validate_key(key))
    except Exception as exc:
        logger.warning("cache unavailable (%s: %s); %s not read", type(exc).__name__, exc, key)
        return None
    return value.decode() if isinstance(value, bytes) else value


def forget(key: str) -> None:
    try:
        cache.delete(key)
    except Exception as exc:
        logger.warning("cache unavailable (%s: %s); %s not deleted", type(exc).__name__, exc, key)


def hit(*, scope: str, key: str, limit: int, window_seconds: int = 60) -> bool:
    """Count one request; True while the caller is within `limit` requests per window."""
    cache_key = _cache_key(scope, key, window_seconds)
    client = _redis_client()
    if client is not None:
        # One round trip (INCR and EXPIRE pipelined) instead of add, then incr.
        full = cache.make_and_validate_key(cache_key)
        try:
            pipe = client.pipeline(transaction=False)
            pipe.incr(full)
            pipe.expire(full, window_seconds + 5)
            count, _ = pipe.execute()
        except Exception as exc:
            logger.warning(
                "rate limit store unavailable (%s: %s); %s not counted", type(exc).__name__, exc, scope
            )
            return True
        return count <= limit
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
