"""Unit-test fixtures: Hypothesis profiles ("ci" under CI=true, "dev" otherwise) and a settable clock."""

import os
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=50, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile("ci" if os.environ.get("CI", "").lower() == "true" else "dev")


class Clock:
    """Django's one clock (`timezone.now()`), frozen and moved by hand."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    frozen = Clock(datetime(2030, 3, 1, 9, 0, 0, tzinfo=UTC))
    monkeypatch.setattr(timezone, "now", frozen)
    return frozen
