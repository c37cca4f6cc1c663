"""Overrides granted by a supervisor or admin from the person drill-down, each with a reason and an
audit record. Quiz-level kinds live in the quiz engine (it honours them when starting an attempt);
course-level kinds change the enrollment (due date, exemption)."""

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from accounts.access import refuse_self_grant
from core import audit
from courses import scope
from courses.errors import CourseError
from courses.models import Enrollment, EnrollmentOverride
from quizzes import services as quiz_services
from quizzes.errors import InvalidAnswer
from quizzes.models import Quiz, QuizOverride

QUIZ_KINDS = {
    QuizOverride.Kind.EXTRA_ATTEMPT,
    QuizOverride.Kind.COOLDOWN_RESET,
    QuizOverride.Kind.TIME_MULTIPLIER,
}
COURSE_KINDS = {EnrollmentOverride.Kind.DUE_DATE_EXTENSION, EnrollmentOverride.Kind.EXEMPTION}
ALL_KINDS = {str(k) for k in QUIZ_KINDS | COURSE_KINDS}


class OverrideRefused(CourseError):
    code = "override_refused"

    def __init__(self, message: str, field_errors: dict | None = None):
        super().__init__(message, field_errors=field_errors)


def grant_override(*, granted_by, person_id: int, kind: str, **details):
    """Grant one override to a person the granter may manage; everything else is refused. Nobody
    grants one to themselves (accounts.access.refuse_self_grant: refused and audited)."""
    label = dict(QuizOverride.Kind.choices) | dict(EnrollmentOverride.Kind.choices)
    refuse_self_grant(
        actor=granted_by,
        subject_id=person_id,
        what=f"an override ({label.get(kind, kind).lower()})",
        error=OverrideRefused,
    )
    return _grant_override(granted_by=granted_by, person_id=person_id, kind=kind, **details)


@transaction.atomic
def _grant_override(
    *,
    granted_by,
    person_id: int,
    kind: str,
    reason: str,
    quiz_id: int | None = None,
    enrollment_id: int | None = None,
    value: str | None = None,
    new_due_date: date | None = None,
    now: datetime | None = None,
):
    now = now or timezone.now()
    if not scope.can_grant_overrides(granted_by):
        raise OverrideRefused("Only supervisors and admins can grant overrides.")
    person = scope.visible_staff(granted_by).filter(pk=person_id).first()
    if person is None:
        raise OverrideRefused("No such person.")
    reason = (reason or "").strip()
    errors = {}
    if not reason:
        errors["reason"] = "A reason is required."
    if kind not in ALL_KINDS:
        errors["kind"] = "Unknown override."
    if errors:
        raise OverrideRefused("Please correct the form.", errors)

    if kind in QUIZ_KINDS:
        quiz = Quiz.objects.filter(pk=quiz_id).first() if quiz_id else None
        if quiz is None:
            raise OverrideRefused("Choose the quiz.", {"quiz": "Choose the quiz."})
        multiplier = Decimal(1)
        if kind == QuizOverride.Kind.TIME_MULTIPLIER:
            try:
                multiplier = Decimal(str(value))
            except (InvalidOperation, TypeError):
                multiplier = None
            if multiplier is None or multiplier.is_nan():  # NaN cannot even be compared with 1 and 4
                raise OverrideRefused("Time multiplier must be a number.", {"value": "A number from 1 to 4."})
        try:
            override = quiz_services.grant_quiz_override(
                user=person,
                quiz=quiz,
                kind=kind,
                reason=reason,
                granted_by=granted_by,
                value=multiplier,
                now=now,
            )
        except InvalidAnswer as error:
            raise OverrideRefused(error.message, {k: v[0] for k, v in error.field_errors.items()}) from error
        audit.record(
            action=f"override.{kind}",
            target=override,
            actor=granted_by,
            subject_user_id=person.pk,
            now=now,
            data={"quiz": quiz.pk, "value": str(multiplier), "reason": reason},
        )
        return override

    enrollment = Enrollment.objects.select_for_update().filter(pk=enrollment_id, user=person).first()
    if enrollment is None:
        raise OverrideRefused("Choose the enrollment.", {"enrollment": "Choose the course."})
    override = EnrollmentOverride(
        enrollment=enrollment,
        kind=kind,
        reason=reason,
        granted_by=granted_by,
        granted_at=now,
        previous_due_date=enrollment.due_date,
    )
    if kind == EnrollmentOverride.Kind.DUE_DATE_EXTENSION:
        if new_due_date is None:
            raise OverrideRefused("Choose the new due date.", {"new_due_date": "Required."})
        if enrollment.due_date and new_due_date <= enrollment.due_date:
            raise OverrideRefused(
                "An extension must move the due date later.",
                {"new_due_date": "Must be after the current due date."},
            )
        override.new_due_date = new_due_date
        enrollment.due_date = new_due_date
        enrollment.save(update_fields=["due_date"])
    else:
        if enrollment.status == Enrollment.Status.COMPLETED:
            raise OverrideRefused("This enrollment is already completed.")
        enrollment.status = Enrollment.Status.EXEMPT
        enrollment.save(update_fields=["status"])
    override.save()
    audit.record(
        action=f"override.{kind}",
        target=override,
        actor=granted_by,
        subject_user_id=person.pk,
        now=now,
        data={
            "enrollment": enrollment.pk,
            "reason": reason,
            "previous_due_date": override.previous_due_date,
            "new_due_date": override.new_due_date,
        },
    )
    return override
