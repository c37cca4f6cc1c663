"""Scores for the LMS's gradebook (LTI Assignment and Grade Services): queued inside the grading or
completion transaction, sent after commit by lti.tasks.send_score. Apart from the launch services
(lti.services, which enrol through the course layer), so that the course layer can call these without
an import cycle."""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core import audit
from core.queue import enqueue_after_commit

from . import selectors
from .models import ResourceLink, ScoreSubmission

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"


def _queue(links, *, user_id: int, make) -> list[int]:
    ids = []
    for link in links:
        if SCORE_SCOPE not in link.ags_scopes or not (link.lineitem_url or link.lineitems_url):
            continue
        for identity in link.learners.all():
            if identity.user_id != user_id:
                continue
            submission = ScoreSubmission.objects.create(link=link, learner=identity, **make())
            ids.append(submission.pk)
            enqueue_after_commit("lti.tasks.send_score", submission.pk)
    return ids


def attempt_graded(attempt) -> list[int]:
    """Called on the one after-grading path (courses.enrollment.services.attempt_graded), inside the grading
    transaction: a score for every LMS link to this quiz the learner launched, under the quiz's grading
    policy (what the engine counts, not just the latest attempt), timed at the grading."""
    if not selectors.learner_has_quiz_links(quiz_key=attempt.quiz.key, user_id=attempt.user_id):
        return []
    links = list(
        ResourceLink.objects.filter(
            quiz_key=attempt.quiz.key, learners__user_id=attempt.user_id, platform__is_active=True
        ).prefetch_related("learners")
    )
    if not links:
        return []
    from quizzes.grading import policy_score
    from quizzes.models import Attempt, AttemptState

    scores = list(
        Attempt.objects.filter(user_id=attempt.user_id, quiz_id=attempt.quiz_id)
        .exclude(state=AttemptState.IN_PROGRESS)
        .order_by("number")
        .values_list("score", flat=True)
    )
    kept = policy_score(scores, attempt.quiz.grading_policy) or Decimal(0)
    ids = _queue(
        links,
        user_id=attempt.user_id,
        make=lambda: {
            "score_given": kept,
            "score_maximum": Decimal(100),
            "timestamp": attempt.submitted_at,
            "attempt": attempt,
            "created_at": timezone.now(),
        },
    )
    if ids:
        audit.record(
            action="lti.score_queued",
            target=attempt,
            subject_user_id=attempt.user_id,
            data={"submissions": ids, "score": str(kept)},
        )
    return ids


def course_completed(enrollment) -> list[int]:
    """Called where the course layer decides a completion, inside that transaction: 'completed' (1 of 1)
    for every LMS link to this course (not to one of its quizzes) the learner launched."""
    links = list(
        ResourceLink.objects.filter(
            course_id=enrollment.course_id,
            quiz_key="",
            learners__user_id=enrollment.user_id,
            platform__is_active=True,
        ).prefetch_related("learners")
    )
    if not links:
        return []
    ids = _queue(
        links,
        user_id=enrollment.user_id,
        make=lambda: {
            "score_given": Decimal(1),
            "score_maximum": Decimal(1),
            "timestamp": enrollment.completed_at or timezone.now(),
            "enrollment": enrollment,
            "created_at": timezone.now(),
        },
    )
    if ids:
        audit.record(
            action="lti.score_queued",
            target=enrollment,
            subject_user_id=enrollment.user_id,
            data={"submissions": ids, "completed": True},
        )
    return ids


@transaction.atomic
def mark_score_sent(*, submission_id: int, now: datetime | None = None) -> ScoreSubmission:
    now = now or timezone.now()
    submission = ScoreSubmission.objects.select_for_update().get(pk=submission_id)
    submission.status, submission.sent_at = ScoreSubmission.Status.SENT, now
    submission.tries += 1
    submission.last_error = ""
    submission.save(update_fields=["status", "sent_at", "tries", "last_error"])
    audit.record(
        action="lti.score_sent",
        target=submission,
        subject_user_id=submission.learner.user_id,
        now=now,
        data={"score": f"{submission.score_given}/{submission.score_maximum}", "link": submission.link_id},
    )
    return submission


@transaction.atomic
def mark_score_try_failed(*, submission_id: int, error: str, final: bool) -> ScoreSubmission:
    submission = ScoreSubmission.objects.select_for_update().get(pk=submission_id)
    submission.tries += 1
    submission.last_error = error[:2000]
    if final:
        submission.status = ScoreSubmission.Status.FAILED
    submission.save(update_fields=["tries", "last_error", "status"])
    audit.record(
        action="lti.score_failed" if final else "lti.score_retry",
        target=submission,
        subject_user_id=submission.learner.user_id,
        data={"tries": submission.tries, "error": submission.last_error[:300]},
    )
    return submission
