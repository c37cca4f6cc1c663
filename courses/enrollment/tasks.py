"""Celery tasks of enrollment and progress (registered names stay `courses.tasks.*`)."""

from celery import shared_task

from courses.enrollment import services


@shared_task(name="courses.tasks.expire_overdue_attempts")
def expire_overdue_attempts() -> int:
    """Every minute (beat): grade attempts whose time ran out, and update course progress."""
    return services.expire_overdue_attempts()
