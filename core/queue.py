"""The one way application code starts a Celery task: after the current transaction commits.

Tasks are addressed by name, so services never import their own tasks module (tasks import services,
never the reverse). The task is looked up at once, so a wrong name fails in the calling service and its
tests; the send happens on commit and is robust: a broker outage is logged and handed to `on_failure`
(each caller's safety net: the certificate sweep, a job marked failed), never turned into a 500.
"""

import logging
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_after_commit(
    task_name: str, *args, on_failure: Callable[[Exception], None] | None = None
) -> None:
    from elearn.celery import app

    task = app.tasks[task_name]

    def send() -> None:
        try:
            task.delay(*args)
        except Exception as exc:  # broker down, or the task failed in the eager embedded run
            logger.exception("could not run task %s%r", task_name, args)
            if on_failure is not None:
                on_failure(exc)

    transaction.on_commit(send, robust=True)
