import logging
from datetime import timedelta

import requests
from celery import shared_task
from django.conf import settings
from django.utils import timezone
from pylti1p3.exception import LtiException, LtiServiceException

from . import passback, scores
from .models import ScoreSubmission

logger = logging.getLogger(__name__)
MAX_TRIES = 8


@shared_task(bind=True, max_retries=MAX_TRIES - 1, acks_late=True)
def send_score(self, submission_id: int) -> str:
    """Send one queued score to the platform; retried with backoff (LTI_SCORE_RETRY_BASE_SECONDS, 30 s by
    default, doubling up to an hour) while the platform refuses or cannot be reached. Safe to run twice: a sent score is not sent again, and a
    platform keeps the newest score per user and line item anyway."""
    submission = (
        ScoreSubmission.objects.select_related("link__platform", "link__course", "learner")
        .filter(pk=submission_id)
        .first()
    )
    if submission is None or submission.status != ScoreSubmission.Status.PENDING:
        return "skipped"
    try:
        passback.deliver_score(submission)
    except (LtiServiceException, LtiException, requests.RequestException) as exc:
        final = self.request.retries >= self.max_retries
        scores.mark_score_try_failed(submission_id=submission_id, error=str(exc), final=final)
        if final:
            logger.error("LTI score %s gave up after %s tries: %s", submission_id, MAX_TRIES, exc)
            return "failed"
        countdown = min(settings.LTI_SCORE_RETRY_BASE_SECONDS * 2**self.request.retries, 3600)
        raise self.retry(exc=exc, countdown=countdown) from exc
    scores.mark_score_sent(submission_id=submission_id)
    return "sent"


@shared_task
def resend_pending_scores() -> int:
    """Safety net (beat): scores still pending after 15 minutes (a broker outage when they were queued, a
    lost message) are sent again."""
    stale = ScoreSubmission.objects.filter(
        status=ScoreSubmission.Status.PENDING, created_at__lt=timezone.now() - timedelta(minutes=15)
    ).values_list("pk", flat=True)[:500]
    count = 0
    for pk in stale:
        send_score.delay(pk)
        count += 1
    return count
