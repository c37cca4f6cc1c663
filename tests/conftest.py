import os

import pytest
from rest_framework.test import APIClient

from tests.browser import chromium  # noqa: F401 - the session's browser, for every browser test
from tests.factories import UserFactory


def _redis_db_per_xdist_worker() -> None:
    """Under pytest-xdist (.ci/run's main suite) each worker has its own test database (pytest-django
    adds `_gwN`); give each its own Redis database too, the next ones after TEST_REDIS_URL's, so the
    Celery worker and rate-limit tests of two workers never share a queue or a counter."""
    worker, url = os.environ.get("PYTEST_XDIST_WORKER", ""), os.environ.get("TEST_REDIS_URL", "")
    if worker.startswith("gw") and worker != "gw0" and url.rpartition("/")[2].isdigit():
        base, _, db = url.rpartition("/")
        os.environ["TEST_REDIS_URL"] = f"{base}/{(int(db) + int(worker[2:])) % 16}"


_redis_db_per_xdist_worker()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def logged_in_api(api_client, user):
    api_client.force_authenticate(user)
    return api_client


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counters live in the cache (local memory in tests): without this, failed logins from
    127.0.0.1 in one test would count towards the per-address cap in the next."""
    from django.core.cache import cache

    cache.clear()
