"""Quiz engine tasks: take ids, idempotent, safe to redeliver."""

from celery import shared_task

from .statistics import REFRESH_TASK, refresh_all_scopes


@shared_task(name=REFRESH_TASK, acks_late=True)
def refresh_item_statistics_task(quiz_id: int) -> int:
    return refresh_all_scopes(quiz_id=quiz_id)
