"""Celery tasks of assignment rules and reminders (registered names stay `courses.tasks.*`)."""

from celery import shared_task


@shared_task(name="courses.tasks.apply_assignment_rules")
def apply_assignment_rules() -> int:
    """Nightly (beat): new people, recurrence and recertification cycles."""
    from courses.assignments import services as assignments

    return assignments.apply_rules().planned


@shared_task(name="courses.tasks.send_reminders", bind=True, max_retries=8, acks_late=True)
def send_reminders(self) -> dict:
    """Daily (beat): plan reminders and escalations, then send. A mail outage retries with backoff;
    nothing is marked sent unless the mail server accepted it."""
    from courses.assignments import reminders

    reminders.plan_notifications()
    try:
        report = reminders.send_pending()
    except reminders.MailUnavailable as exc:
        raise self.retry(exc=exc.error, countdown=min(3600, 60 * 2**self.request.retries)) from exc
    return {"sent": report.sent, "failed": report.failed}


@shared_task(name="courses.tasks.send_pending_notifications", bind=True, max_retries=8, acks_late=True)
def send_pending_notifications(self) -> int:
    from courses.assignments import reminders

    try:
        return reminders.send_pending().sent
    except reminders.MailUnavailable as exc:
        raise self.retry(exc=exc.error, countdown=min(3600, 60 * 2**self.request.retries)) from exc
