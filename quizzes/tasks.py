"""Quiz engine tasks: take ids, idempotent, safe to redeliver."""

from celery import shared_task


@shared_task(acks_late=True)
def refresh_item_statistics_task(quiz_id: int) -> int:
    from .statistics import refresh_item_statistics

    return refresh_item_statistics(quiz_id=quiz_id).answers
