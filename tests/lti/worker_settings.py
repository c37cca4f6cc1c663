"""Test settings for a real Celery worker whose task retries through the broker (the test settings'
always-eager mode would run a retry inside the worker at once, ignoring its countdown)."""

from elearn.settings.test import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = False
