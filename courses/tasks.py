from celery import shared_task

from . import services


@shared_task
def expire_overdue_attempts() -> int:
    """Every minute (beat): grade attempts whose time ran out, and update course progress."""
    return services.expire_overdue_attempts()
