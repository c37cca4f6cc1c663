"""The test settings for a real Celery worker that must retry through the broker: with the test
settings' always-eager mode, a worker's `retry()` would run the task again at once, ignoring its
countdown."""

from elearn.settings.test import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = False
