"""Every write of the courses app. Keyword-only, one transaction each, domain errors on refusal."""

from datetime import date, datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from core import audit
from courses.catalog import selectors as catalog_selectors
from courses.enrollment import fast_reads, selectors
from courses.enrollment.progress import (
    lesson_minimum_seconds,
    lesson_seconds_remaining,
    recorded_lesson_seconds,
)
from courses.errors import CourseError
from courses.models import Course, Enrollment, LessonProgress, RequiredSkill
from quizzes import services as quiz_services
from quizzes.models import Attempt, Quiz
from xapi import outbox as xapi_outbox

# --- content --------------------------------------------------------------------------------------


# --- enrollments and progress ---------------------------------------------------------------------


MAX_SECONDS_PER_PING = 120  # a reader's heartbeat every 30 s; a tab left open all night adds nothing


class NotEnrolled(CourseError):
    http_status = 404
    code = "not_found"


class EnrollmentRefused(CourseError):
    http_status = 409
    code = "enrollment_refused"


def _lock_user(user) -> None:
    get_user_model().objects.select_for_update().only("pk").get(pk=user.pk)


def _refresh_progress(enrollment: Enrollment, *, now: datetime) -> Enrollment:
    """Store progress recomputed from raw records; complete the enrollment when the rule is met.
    The caller holds the enrollment row lock."""
    progress = selectors.compute_progress(enrollment)
    enrollment.lessons_total = progress.lessons_total
    enrollment.lessons_read = progress.lessons_read
    enrollment.quizzes_total = progress.quizzes_total
    enrollment.quizzes_passed = progress.quizzes_passed
    enrollment.signoffs_total = progress.signoffs_required
    enrollment.signoffs_done = progress.signoffs_done
    enrollment.progress_percent = progress.percent
    enrollment.last_activity_at = now
    fields = [
        "lessons_total",
        "lessons_read",
        "quizzes_total",
        "quizzes_passed",
        "signoffs_total",
        "signoffs_done",
        "progress_percent",
        "last_activity_at",
    ]
    newly_completed = False
    if enrollment.status in (Enrollment.Status.NOT_STARTED, Enrollment.Status.IN_PROGRESS):
        if progress.complete:
            enrollment.status = Enrollment.Status.COMPLETED
            enrollment.completed_at = now
            fields += ["status", "completed_at"]
            newly_completed = True
        elif enrollment.status == Enrollment.Status.NOT_STARTED:
            enrollment.status = Enrollment.Status.IN_PROGRESS
            enrollment.started_at = enrollment.started_at or now
            fields += ["status", "started_at"]
    enrollment.save(update_fields=fields)
    if newly_completed:
        xapi_outbox.course_completed(enrollment=enrollment)
        _on_course_completed(enrollment)
    return enrollment


def _on_course_completed(enrollment: Enrollment) -> None:
    """Completion's consequences, explicit: the certificate (issued after commit), or, for a completed
    clinical update, lifting the deadline it put on the learner's certificate."""
    if enrollment.kind == Enrollment.Kind.UPDATE:
        from courses.models import Certificate

        Certificate.objects.filter(
            user_id=enrollment.user_id, enrollment__course_id=enrollment.course_id, update_due__isnull=False
        ).update(update_due=None)
        audit.record(
            action="clinical_update.completed",
            target=enrollment,
            subject_user_id=enrollment.user_id,
            data={"version": enrollment.version_id},
        )
        return
    from courses.certificates import services as certificates

    certificates.course_completed(enrollment=enrollment)


@transaction.atomic
def enroll(
    *,
    user,
    course: Course,
    source: str = Enrollment.Source.MANUAL,
    due_date: date | None = None,
    now: datetime | None = None,
) -> tuple[Enrollment, bool]:
    """Enrol a learner in a course's current version: (enrollment, created). Idempotent: an enrollment
    that is not finished is returned as it is (a learner keeps the version they started)."""
    now = now or timezone.now()
    _lock_user(user)
    latest = (
        Enrollment.objects.filter(user=user, course=course, kind=Enrollment.Kind.REGULAR)
        .order_by("-cycle")
        .first()
    )
    if latest is not None and (
        latest.status not in (Enrollment.Status.COMPLETED, Enrollment.Status.EXEMPT)
        or source != Enrollment.Source.RECERTIFICATION
    ):
        if (
            due_date
            and latest.status not in (Enrollment.Status.COMPLETED, Enrollment.Status.EXEMPT)
            and (latest.due_date is None)
        ):
            latest.due_date = due_date
            latest.save(update_fields=["due_date"])
        return latest, False
    version = catalog_selectors.current_version(course)
    if version is None:
        raise EnrollmentRefused(f"{course} has no published version yet.")
    enrollment = Enrollment.objects.create(
        user=user,
        course=course,
        version=version,
        cycle=(latest.cycle + 1) if latest else 1,
        source=source,
        due_date=due_date,
        enrolled_at=now,
    )
    progress = selectors.compute_progress(enrollment)
    enrollment.lessons_total, enrollment.quizzes_total = progress.lessons_total, progress.quizzes_total
    enrollment.signoffs_total = progress.signoffs_required
    enrollment.save(update_fields=["lessons_total", "quizzes_total", "signoffs_total"])
    return enrollment, True


def self_enroll(*, user, course: Course, now: datetime | None = None) -> tuple[Enrollment, bool]:
    if not course.open_enrollment:
        existing = (
            Enrollment.objects.filter(user=user, course=course, kind=Enrollment.Kind.REGULAR)
            .order_by("-cycle")
            .first()
        )
        if existing is not None:
            return existing, False
        raise EnrollmentRefused(
            "This course is assigned by your training coordinator; it is not open to self-enrolment."
        )
    return enroll(user=user, course=course, source=Enrollment.Source.SELF, now=now)


@transaction.atomic
def bulk_enroll(
    *, users, course: Course, due_date: date | None, now: datetime | None = None
) -> dict[str, int]:
    created = existing = 0
    for user in users:
        _, was_created = enroll(
            user=user, course=course, source=Enrollment.Source.MANUAL, due_date=due_date, now=now
        )
        created += was_created
        existing += not was_created
    return {"created": created, "existing": existing}


def _lesson_enrollment(*, user, lesson_id: int):
    # The lesson and its enrollment only: the neighbours a lesson page shows are not needed here.
    view = selectors.lesson_access(user=user, lesson_id=lesson_id, with_body=False)
    if view is None:
        raise NotEnrolled("No such lesson.")
    return view


@transaction.atomic
def open_lesson(*, user, lesson_id: int, now: datetime | None = None) -> LessonProgress:
    """Record that the learner opened a lesson (first time only)."""
    now = now or timezone.now()
    view = _lesson_enrollment(user=user, lesson_id=lesson_id)
    progress, _ = LessonProgress.objects.get_or_create(
        enrollment=view.enrollment, lesson=view.lesson, defaults={"first_opened_at": now}
    )
    return progress


@transaction.atomic
def record_reading_time(*, user, lesson_id: int, seconds: int, now: datetime | None = None) -> LessonProgress:
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 0:
        raise CourseError("seconds must be a whole number of seconds, 0 or more.")
    now = now or timezone.now()
    view = _lesson_enrollment(user=user, lesson_id=lesson_id)
    progress, _ = LessonProgress.objects.select_for_update().get_or_create(
        enrollment=view.enrollment, lesson=view.lesson, defaults={"first_opened_at": now}
    )
    progress.seconds_spent += min(seconds, MAX_SECONDS_PER_PING)
    progress.save(update_fields=["seconds_spent"])
    return progress


class LessonTooSoon(CourseError):
    http_status = 409
    code = "lesson_minimum_time"

    def __init__(self, message: str, *, seconds_remaining: int):
        super().__init__(message)
        self.seconds_remaining = seconds_remaining

    def details(self) -> dict:
        return {"seconds_remaining": self.seconds_remaining}


def _duration(seconds: int) -> str:
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def complete_lesson(*, user, lesson_id: int, now: datetime | None = None) -> Enrollment:
    """Mark a lesson read (idempotent) and store the enrollment's progress.

    With a course minimum lesson time, refuses (LessonTooSoon, with the time remaining) until that
    share of the lesson's estimate has passed since it was first opened. A refused first attempt still
    records the opening (committed before the refusal), so the clock starts for API-only learners too."""
    now = now or timezone.now()
    view = _lesson_enrollment(user=user, lesson_id=lesson_id)
    percent = view.enrollment.course.minimum_lesson_percent
    with transaction.atomic():
        enrollment = (
            Enrollment.objects.select_for_update().select_related("version").get(pk=view.enrollment.pk)
        )
        progress, _ = LessonProgress.objects.select_for_update().get_or_create(
            enrollment=enrollment, lesson=view.lesson, defaults={"first_opened_at": now}
        )
        if progress.completed_at is not None:
            return _refresh_progress(enrollment, now=now)
        remaining = lesson_seconds_remaining(
            minimum_lesson_percent=percent,
            lesson_minutes=view.lesson.minutes,
            first_opened_at=progress.first_opened_at,
            now=now,
        )
        if not remaining:
            progress.completed_at = now
            progress.seconds_recorded = recorded_lesson_seconds(
                lesson_minutes=view.lesson.minutes, first_opened_at=progress.first_opened_at, completed_at=now
            )
            progress.save(update_fields=["completed_at", "seconds_recorded"])
            xapi_outbox.lesson_experienced(
                user=user, enrollment=enrollment, lesson=view.lesson, progress=progress
            )
            return _refresh_progress(enrollment, now=now)
    required = lesson_minimum_seconds(minimum_lesson_percent=percent, lesson_minutes=view.lesson.minutes)
    raise LessonTooSoon(
        f"This course asks for at least {_duration(required)} on this lesson before it is marked read. "
        f"You can mark it read in {_duration(remaining)}.",
        seconds_remaining=remaining,
    )


def start_quiz_attempt(*, user, quiz: Quiz, now: datetime | None = None):
    """Start or resume through the quiz engine's one start rule, with this layer's lesson lock and the
    enrollment's window. An expired open attempt the start finds is graded and handled here (progress,
    audit) even when the start is then refused."""
    now = now or timezone.now()
    lesson_lock, window_start = selectors.quiz_start_context(user=user, quiz=quiz)
    return quiz_services.start_attempt(
        user=user,
        quiz=quiz,
        now=now,
        lesson_lock=lesson_lock,
        window_start=window_start,
        on_graded=_after_grading(actor=None, now=now),
        on_started=lambda attempt: xapi_outbox.quiz_attempted(attempt=attempt),
    )


def attempt_graded(attempt: Attempt, *, actor, now: datetime) -> None:
    """What follows every grading, whichever way the attempt became graded (submit, deadline found on
    save or start, the sweep, staff closing it): progress stored, which evaluates completion, and
    `attempt.graded` audited. Runs inside the grading transaction, so all of it stands or none."""
    enrollment = _refresh_enrollments_for_attempt(attempt, now=now)
    _audit_graded(attempt, actor=actor, now=now)
    xapi_outbox.attempt_graded(attempt=attempt, enrollment=enrollment)
    from lti import scores as lti_scores  # scores for LMS links to this quiz (sent after commit)

    lti_scores.attempt_graded(attempt)


def _after_grading(*, actor, now: datetime) -> quiz_services.GradedHandler:
    return lambda attempt: attempt_graded(attempt, actor=actor, now=now)


def _audit_graded(attempt: Attempt, *, actor, now: datetime) -> None:
    audit.record(
        action="attempt.graded",
        target=attempt,
        actor=actor,
        subject_user_id=attempt.user_id,
        now=now,
        data={
            "quiz": attempt.quiz_id,
            "number": attempt.number,
            "score": str(attempt.score),
            "passed": attempt.passed,
            "closed_by": attempt.closed_by,
            "critical_missed": attempt.critical_missed,
        },
    )


def _refresh_enrollments_for_attempt(attempt: Attempt, *, now: datetime) -> Enrollment | None:
    enrollment_id = fast_reads.enrollment_id_for_quiz(user=attempt.user, quiz=attempt.quiz)
    if enrollment_id is None:
        return None
    enrollment = Enrollment.objects.select_for_update().select_related("version").get(pk=enrollment_id)
    return _refresh_progress(enrollment, now=now)


def submit_quiz_attempt(*, attempt_id: int, user, now: datetime | None = None) -> quiz_services.SubmitOutcome:
    """Grade through the quiz engine (once); progress, completion and audit follow in its transaction."""
    now = now or timezone.now()
    return quiz_services.submit_attempt(
        attempt_id=attempt_id, user=user, now=now, on_graded=_after_grading(actor=user, now=now)
    )


def save_quiz_answer(*, attempt_id: int, user, question_id, response, now: datetime | None = None):
    """Autosave; when the save finds the attempt past its deadline the engine grades it (and this layer
    follows up) before the refusal reaches the learner."""
    now = now or timezone.now()
    return quiz_services.save_answer(
        attempt_id=attempt_id,
        user=user,
        question_id=question_id,
        response=response,
        now=now,
        on_graded=_after_grading(actor=None, now=now),
    )


def expire_quiz_attempt(*, attempt_id: int, now: datetime | None = None):
    now = now or timezone.now()
    return quiz_services.expire_attempt(
        attempt_id=attempt_id, now=now, on_graded=_after_grading(actor=None, now=now)
    )


def close_quiz_attempt(*, staff, attempt_id: int, reason: str, now: datetime | None = None):
    """A supervisor or admin closes an open attempt of someone they manage: graded now, through the
    same after-grading path, with the reason audited. Never one's own attempt."""
    from courses import scope

    now = now or timezone.now()
    reason = (reason or "").strip()
    if not scope.can_grant_overrides(staff):
        raise CloseRefused("Only supervisors and admins can close an attempt.")
    if not reason:
        raise CloseRefused("A reason is required.")
    attempt = Attempt.objects.filter(pk=attempt_id, user__in=scope.visible_staff(staff)).first()
    if attempt is None:
        raise NotEnrolled("No such attempt.")
    if attempt.user_id == staff.pk:
        raise CloseRefused("You cannot close your own attempt.")
    with transaction.atomic():
        outcome = quiz_services.close_attempt(
            attempt_id=attempt.pk, now=now, on_graded=_after_grading(actor=staff, now=now)
        )
        if outcome.graded_now:
            audit.record(
                action="attempt.closed_by_staff",
                target=outcome.attempt,
                actor=staff,
                subject_user_id=outcome.attempt.user_id,
                now=now,
                data={"reason": reason[:1000]},
            )
    return outcome


class CloseRefused(CourseError):
    http_status = 403
    code = "close_refused"


def expire_overdue_attempts(*, now: datetime | None = None) -> int:
    graded = 0
    for attempt_id in quiz_services.overdue_attempt_ids(now=now):
        graded += expire_quiz_attempt(attempt_id=attempt_id, now=now) is not None
    return graded


@transaction.atomic
def recompute_progress(*, enrollment_id: int, now: datetime | None = None) -> Enrollment:
    enrollment = Enrollment.objects.select_for_update().select_related("version").get(pk=enrollment_id)
    return _refresh_progress(enrollment, now=now or enrollment.last_activity_at or timezone.now())


class SignoffRefused(CourseError):
    code = "signoff_refused"


def sign_off_skill(*, observer, enrollment_id: int, **details):
    """Record an in-person observation by a supervisor of the learner; may complete the course. Never
    one's own (accounts.access.refuse_self_grant: refused and audited)."""
    from accounts.access import refuse_self_grant

    subject_id = Enrollment.objects.filter(pk=enrollment_id).values_list("user_id", flat=True).first()
    refuse_self_grant(actor=observer, subject_id=subject_id, what="a skill sign-off", error=SignoffRefused)
    return _sign_off_skill(observer=observer, enrollment_id=enrollment_id, **details)


@transaction.atomic
def _sign_off_skill(
    *,
    observer,
    enrollment_id: int,
    skill_id: int,
    observed_on: date,
    notes: str = "",
    now: datetime | None = None,
):
    from courses import scope
    from courses.models import SkillSignoff

    now = now or timezone.now()
    if not scope.can_grant_overrides(observer):
        raise SignoffRefused("Only supervisors and admins can sign off skills.")
    enrollment = (
        Enrollment.objects.select_for_update(of=("self",))
        .select_related("version", "user")
        .filter(pk=enrollment_id, user__in=scope.visible_staff(observer))
        .first()
    )
    if enrollment is None:
        raise NotEnrolled("No such enrollment.")
    skill = RequiredSkill.objects.filter(pk=skill_id, version_id=enrollment.version_id).first()
    if skill is None:
        raise SignoffRefused("This skill is not part of the course version.")
    if observed_on is None or observed_on > timezone.localdate(now):
        raise SignoffRefused("The observation date cannot be in the future.")
    signoff, created = SkillSignoff.objects.get_or_create(
        enrollment=enrollment,
        skill=skill,
        defaults={
            "observer": observer,
            "observed_on": observed_on,
            "notes": (notes or "").strip()[:4000],
            "signed_at": now,
        },
    )
    if created:
        audit.record(
            action="skill.signed_off",
            target=signoff,
            actor=observer,
            subject_user_id=enrollment.user_id,
            now=now,
            data={"skill": skill.key, "observed_on": observed_on, "enrollment": enrollment.pk},
        )
        _refresh_progress(enrollment, now=now)
    return signoff
