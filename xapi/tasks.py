from celery import shared_task

from . import sender


@shared_task(bind=True, acks_late=True, max_retries=8)
def send_statements(self) -> dict:
    """Send pending xAPI statements (enqueued after each event's commit, and by beat every minute so
    nothing is stranded if the broker lost a message). Retries with backoff while the LRS is down;
    after the last retry the beat sweep keeps trying, one request per backoff window."""
    report = sender.send_pending()
    if not self.request.is_eager:
        if report.failed:
            raise self.retry(countdown=sender.retry_delay())
        if report.remaining:
            self.apply_async()
    return {"sent": report.sent, "rejected": report.rejected, "failed": report.failed}
