import pytest
from rest_framework.test import APIClient

from tests.browser import chromium  # noqa: F401 - the session's browser, for every browser test
from tests.factories import UserFactory


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
