"""The one service that writes xAPI statements: each function is called by the service where its event
happens, inside that service's transaction, so the statement exists exactly when the event does (a
rolled-back grading leaves no "passed" behind). Rows are sent after commit by `xapi.tasks`.

Off when no LRS is configured: every function returns before its first query.

Where each is called:
- lesson_experienced: courses.enrollment.services.complete_lesson, when a lesson is first marked read
- quiz_attempted: quizzes.services.start_attempt's `on_started`, passed by courses.enrollment.services.start_quiz_attempt
- attempt_graded (answered per question, then passed or failed): courses.enrollment.services.attempt_graded, the one
  after-grading path of every grading
- course_completed: courses.enrollment.services._refresh_progress, when the enrollment newly completes
- certificate_earned: courses.certificates.services.issue_certificate
- certificate_revoked (voids the `earned` statement): courses.certificates.services.revoke_certificate
"""

from django.utils import timezone

from core.queue import enqueue_after_commit

from . import config
from . import statements as xs
from .models import OutboxStatement


def _write(rows: list[tuple[str, int, dict]]) -> None:
    """Store (verb, user id, statement) rows; an event recorded twice keeps its first row (same id)."""
    if not rows:
        return
    now = timezone.now()
    OutboxStatement.objects.bulk_create(
        [
            OutboxStatement(statement_id=body["id"], verb=verb, user_id=user_id, payload=body, created_at=now)
            for verb, user_id, body in rows
        ],
        ignore_conflicts=True,
    )
    enqueue_after_commit("xapi.tasks.send_statements")


def _enrollment_for_attempt(attempt):
    from courses.enrollment.selectors import enrollment_for_quiz

    enrollment = enrollment_for_quiz(user=attempt.user, quiz=attempt.quiz)
    return enrollment


def lesson_experienced(*, user, enrollment, lesson, progress) -> None:
    if not config.enabled():
        return
    cfg = config.current()
    course = enrollment.version.course
    body = xs.statement(
        cfg,
        id=xs.statement_id(cfg, "lesson-experienced", progress.pk),
        user=user,
        verb_name="experienced",
        obj=xs.lesson_activity(cfg, course, lesson),
        when=progress.completed_at,
        ctx=xs.context(cfg, enrollment),
        result={"completion": True, "duration": xs.duration(progress.seconds_recorded)},
    )
    _write([("experienced", user.pk, body)])


def quiz_attempted(*, attempt, enrollment=None) -> None:
    if not config.enabled():
        return
    cfg = config.current()
    enrollment = enrollment or _enrollment_for_attempt(attempt)
    body = xs.statement(
        cfg,
        id=xs.statement_id(cfg, "quiz-attempted", attempt.pk),
        user=attempt.user,
        verb_name="attempted",
        obj=xs.quiz_activity(cfg, attempt.quiz),
        when=attempt.started_at,
        ctx=xs.context(cfg, enrollment),
        result=None,
    )
    _write([("attempted", attempt.user_id, body)])


def attempt_graded(*, attempt, enrollment=None) -> None:
    """After grading (never before): one `answered` per question the learner answered, then `passed` or
    `failed` with the score. A question's success and score go out only where the quiz's review rule
    shows the learner which answers were wrong; certifying quizzes never send per-item marks."""
    if not config.enabled():
        return
    from quizzes.models import Answer
    from quizzes.selectors import review_rules

    cfg = config.current()
    user, quiz = attempt.user, attempt.quiz
    if enrollment is None:
        enrollment = _enrollment_for_attempt(attempt)
    quiz_obj = xs.quiz_activity(cfg, quiz)
    per_item_marks = review_rules(quiz).which_wrong
    rows = []
    answers = Answer.objects.filter(attempt=attempt).select_related("question").order_by("question_id")
    for answer in answers:
        response = xs.interaction_response(answer.question.type, answer.response)
        if response is None:
            continue
        result: dict = {"response": response}
        if per_item_marks and answer.points is not None:
            result["success"] = answer.points == 1
            result["score"] = {"scaled": float(answer.points)}
        body = xs.statement(
            cfg,
            id=xs.statement_id(cfg, "question-answered", attempt.pk, answer.question_id),
            user=user,
            verb_name="answered",
            obj=xs.question_activity(cfg, answer.question),
            when=answer.saved_at,
            ctx=xs.context(cfg, enrollment, parents=[quiz_obj]),
            result=result,
        )
        rows.append(("answered", user.pk, body))
    outcome = "passed" if attempt.passed else "failed"
    result = {
        "score": xs.score(attempt.points, attempt.max_points, attempt.score),
        "success": bool(attempt.passed),
        "completion": True,
        "duration": xs.duration((attempt.submitted_at - attempt.started_at).total_seconds()),
        "extensions": {f"{cfg.activity_base}/xapi/extensions/attempt-number": attempt.number},
    }
    body = xs.statement(
        cfg,
        id=xs.statement_id(cfg, "attempt-graded", attempt.pk),
        user=user,
        verb_name=outcome,
        obj=quiz_obj,
        when=attempt.submitted_at,
        ctx=xs.context(cfg, enrollment),
        result=result,
    )
    rows.append((outcome, user.pk, body))
    _write(rows)


def course_completed(*, enrollment) -> None:
    if not config.enabled():
        return
    cfg = config.current()
    course = enrollment.version.course
    body = xs.statement(
        cfg,
        id=xs.statement_id(cfg, "course-completed", enrollment.pk),
        user=enrollment.user,
        verb_name="completed",
        obj=xs.course_activity(cfg, course),
        when=enrollment.completed_at,
        ctx=xs.context(cfg, enrollment),
        result={"completion": True},
    )
    _write([("completed", enrollment.user_id, body)])


def certificate_earned(*, certificate) -> None:
    if not config.enabled():
        return
    cfg = config.current()
    enrollment = certificate.enrollment
    result = {
        "completion": True,
        "extensions": {f"{cfg.activity_base}/xapi/extensions/certificate-number": certificate.number},
    }
    if certificate.expires_on:
        result["extensions"][f"{cfg.activity_base}/xapi/extensions/certificate-expires"] = (
            certificate.expires_on.isoformat()
        )
    body = xs.statement(
        cfg,
        id=xs.statement_id(cfg, "certificate-earned", certificate.pk),
        user=certificate.user,
        verb_name="earned",
        obj=xs.certificate_activity(cfg, enrollment.version.course),
        when=certificate.issued_at,
        ctx=xs.context(cfg, enrollment),
        result=result,
    )
    _write([("earned", certificate.user_id, body)])


def certificate_revoked(*, certificate, by=None) -> None:
    """A revoked certificate's `earned` statement is voided (xAPI's `voided`, by whoever revoked it), so
    the LRS stops counting it; a reissue then earns a new one. Nothing to void if it was never sent."""
    if not config.enabled():
        return
    cfg = config.current()
    earned_id = xs.statement_id(cfg, "certificate-earned", certificate.pk)
    if not OutboxStatement.objects.filter(statement_id=earned_id).exists():
        return
    body = {
        "id": xs.statement_id(cfg, "certificate-voided", certificate.pk),
        "actor": xs.actor(cfg, by or certificate.user),
        "verb": xs.verb("voided"),
        "object": {"objectType": "StatementRef", "id": earned_id},
        "timestamp": xs.timestamp(certificate.revoked_at),
        "version": xs.XAPI_VERSION,
    }
    _write([("voided", certificate.user_id, body)])
