from celery import shared_task

from . import sender


@shared_task(bind=True, acks_late=True, max_retries=8)
def send_statements(self) -> dict:
    """Send pending xAPI statements (enqueued after each event's commit, and by beat every minute so
    nothing is stranded if the broker lost a message). Retries with backoff while the LRS is down;
    after the last retry the beat sweep keeps trying, one request per backoff window."""
    report = sender.send_pending()
    if not self.request.is_eager:
        # The task that failed retries once the circuit closes, and so does a retry that finds it still
        # open (another sender failed meanwhile); a fresh task that finds it open leaves the work to
        # the retrying one and the sweep, so an outage costs one request per backoff window.
        if report.failed or (report.waiting and self.request.retries):
            raise self.retry(countdown=sender.seconds_until_retry())
        if report.remaining:
            self.apply_async()
    return {"sent": report.sent, "rejected": report.rejected, "failed": report.failed}
