from celery import shared_task

from . import services


@shared_task
def expire_overdue_attempts() -> int:
    """Grade attempts whose time ran out. Courses schedule their own wrapper, which also updates progress."""
    return services.expire_attempts()
