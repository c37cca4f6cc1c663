"""Quiz engine tasks: take ids, idempotent, safe to redeliver."""

from celery import shared_task


@shared_task(acks_late=True)
def refresh_item_statistics_task(quiz_id: int) -> int:
    from .statistics import refresh_all_scopes

    return refresh_all_scopes(quiz_id=quiz_id)
