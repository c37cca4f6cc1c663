"""The rate limiter and the verification cache on the real shared store (Redis), where they take their
one-round-trip path: counts, window expiry, the cached answer read in the same pipeline, fail-open."""

import os

import pytest
from django.core.cache import caches
from django.test import override_settings

from core import ratelimit

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REDIS_CACHE = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}


@pytest.fixture
def redis_cache():
    with override_settings(CACHES=REDIS_CACHE):
        caches["default"].clear()
        assert ratelimit._redis_client() is not None  # the pipelined path, not the generic fallback
        yield caches["default"]
        caches["default"].clear()


def test_hit_counts_in_one_window_and_sets_an_expiry(redis_cache):
    results = [ratelimit.hit(scope="t", key="1.2.3.4", limit=3) for _ in range(5)]
    assert results == [True, True, True, False, False]
    assert ratelimit.count(scope="t", key="1.2.3.4") == 5  # readable through the cache API too
    assert ratelimit.hit(scope="t", key="5.6.7.8", limit=3) is True  # per key
    client = ratelimit._redis_client()
    key = redis_cache.make_and_validate_key(ratelimit._cache_key("t", "1.2.3.4", 60))
    assert 0 < client.ttl(key) <= 65


def test_hit_and_get_reads_the_cached_text_in_the_same_round_trip(redis_cache):
    assert ratelimit.hit_and_get(scope="v", key="ip", limit=2, get="answer:x") == (True, None)
    ratelimit.cache_text("answer:x", '{"status": "valid"}', timeout=60)
    assert ratelimit.hit_and_get(scope="v", key="ip", limit=2, get="answer:x") == (
        True,
        '{"status": "valid"}',
    )
    assert ratelimit.hit_and_get(scope="v", key="ip", limit=2, get="answer:x") == (
        False,
        '{"status": "valid"}',
    )
    ratelimit.forget("answer:x")
    assert ratelimit.cached_text("answer:x") is None


def test_a_dead_store_fails_open():
    dead = {"default": {**REDIS_CACHE["default"], "LOCATION": "redis://127.0.0.1:1/0"}}
    with override_settings(CACHES=dead):
        assert ratelimit.hit(scope="t", key="k", limit=0) is True
        assert ratelimit.hit_and_get(scope="t", key="k", limit=0, get="x") == (True, None)
        ratelimit.cache_text("x", "y", timeout=1)  # logged, not raised
        assert ratelimit.cached_text("x") is None
