"""Every write of the courses app. Keyword-only, one transaction each, domain errors on refusal."""

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core import audit
from elearn.markdown import render_markdown
from quizzes import services as quiz_services
from quizzes.errors import ContentError
from quizzes.models import Pool
from xapi import outbox as xapi_outbox

from .content_loader import ParsedCourse, parse_course_dir
from .errors import CourseError
from .models import Course, CourseVersion, Lesson, Module, RequiredSkill


class PublishRefused(CourseError):
    code = "publish_refused"


# --- content --------------------------------------------------------------------------------------


@dataclass
class LoadReport:
    course: Course
    version: CourseVersion
    created_version: bool
    lessons_added: list[str] = field(default_factory=list)
    lessons_changed: list[str] = field(default_factory=list)
    lessons_removed: list[str] = field(default_factory=list)
    questions_added: list[str] = field(default_factory=list)
    questions_changed: list[str] = field(default_factory=list)
    questions_retired: list[str] = field(default_factory=list)
    quizzes_changed: list[str] = field(default_factory=list)
    clinically_significant: list[str] = field(default_factory=list)

    def summary_lines(self) -> list[str]:
        if not self.created_version:
            return [f"{self.course.slug}: unchanged (version {self.version.number}, {self.version.status})"]
        lines = [f"{self.course.slug}: new version {self.version.number} ({self.version.status})"]
        for label, items in (
            ("lessons added", self.lessons_added),
            ("lessons changed", self.lessons_changed),
            ("lessons removed", self.lessons_removed),
            ("questions added", self.questions_added),
            ("questions changed", self.questions_changed),
            ("questions retired", self.questions_retired),
            ("quizzes changed", self.quizzes_changed),
            ("clinically significant changes", self.clinically_significant),
        ):
            if items:
                shown = ", ".join(items[:8]) + (f" and {len(items) - 8} more" if len(items) > 8 else "")
                lines.append(f"  {label} ({len(items)}): {shown}")
        return lines


def _module_quiz(parsed_quiz, *, default_title: str):
    settings_ = {"title": default_title, **parsed_quiz.settings}
    return quiz_services.upsert_quiz(key=parsed_quiz.key, settings_=settings_, draw=parsed_quiz.draw)


@transaction.atomic
def load_course(*, path: str | Path, publish: bool = False) -> LoadReport:
    """Load a course directory. Idempotent: the same files change nothing. Changed files make a new
    course version (content hash); attempts and completions recorded on older versions are untouched."""
    parsed: ParsedCourse = parse_course_dir(path)
    bank_reports = [
        quiz_services.import_bank(key=b.key, title=b.title, questions=b.questions, pool=b.pool)
        for b in parsed.banks
    ]
    quizzes = []
    for module in parsed.modules:
        quizzes.append(_module_quiz(module.quiz, default_title=f"Module quiz: {module.title}"))
    final_exam = _module_quiz(parsed.final_exam, default_title="Final exam") if parsed.final_exam else None

    course, _ = Course.objects.get_or_create(slug=parsed.slug, defaults={"title": parsed.title})
    course_fields = {
        "title": parsed.title,
        "summary": parsed.summary,
        "ce_hours": Decimal(str(parsed.ce_hours)),
        "provider_approval_number": parsed.provider_approval_number,
        "accrediting_statement": parsed.accrediting_statement,
        "validity_months": parsed.validity_months,
        "open_enrollment": parsed.open_enrollment,
        "minimum_lesson_percent": parsed.minimum_lesson_percent,
    }
    changed_fields = [name for name, value in course_fields.items() if getattr(course, name) != value]
    for name in changed_fields:
        setattr(course, name, course_fields[name])
    if changed_fields:
        course.save(update_fields=changed_fields)

    latest = course.versions.order_by("-number").first()
    if latest is not None and latest.content_hash == parsed.content_hash:
        review_changed = (latest.medical_reviewer, latest.medical_review_date) != (
            parsed.medical_reviewer,
            parsed.medical_review_date,
        )
        if review_changed and not latest.is_reviewed:
            latest.medical_reviewer = parsed.medical_reviewer
            latest.medical_review_date = parsed.medical_review_date
            latest.save(update_fields=["medical_reviewer", "medical_review_date"])
        report = LoadReport(course=course, version=latest, created_version=False)
        if publish and latest.status != CourseVersion.Status.PUBLISHED:
            report.version = publish_version(version=latest)
        return report

    version = CourseVersion.objects.create(
        course=course,
        number=(latest.number + 1) if latest else 1,
        content_hash=parsed.content_hash,
        medical_reviewer=parsed.medical_reviewer,
        medical_review_date=parsed.medical_review_date,
        objectives=parsed.objectives,
        final_exam=final_exam[0] if final_exam else None,
        loaded_at=timezone.now(),
    )
    report = LoadReport(course=course, version=version, created_version=True)
    RequiredSkill.objects.bulk_create(
        RequiredSkill(version=version, position=i, **skill) for i, skill in enumerate(parsed.skills)
    )
    previous_lessons = (
        {lesson.key: lesson for lesson in Lesson.objects.filter(module__version=latest)} if latest else {}
    )
    for position, (module, (quiz, quiz_created)) in enumerate(zip(parsed.modules, quizzes, strict=True)):
        row = Module.objects.create(
            version=version, key=module.key, title=module.title, position=position, quiz=quiz
        )
        if quiz_created and latest is not None:
            report.quizzes_changed.append(quiz.key)
        Lesson.objects.bulk_create(
            Lesson(
                module=row,
                key=lesson.key,
                title=lesson.title,
                position=i,
                minutes=lesson.minutes,
                body=lesson.body,
                body_html=render_markdown(lesson.body),
                objectives=lesson.objectives,
                sources=lesson.sources,
                clinically_significant=lesson.clinically_significant,
                content_hash=lesson.content_hash,
            )
            for i, lesson in enumerate(module.lessons)
        )
        for lesson in module.lessons:
            before = previous_lessons.pop(lesson.key, None)
            if latest is None:
                continue
            if before is None:
                report.lessons_added.append(lesson.key)
            elif before.content_hash != lesson.content_hash:
                report.lessons_changed.append(lesson.key)
                if lesson.clinically_significant:
                    report.clinically_significant.append(lesson.key)
    report.lessons_removed = sorted(previous_lessons)
    if latest is not None:
        for bank_report in bank_reports:
            report.questions_added += bank_report.added
            report.questions_changed += bank_report.changed
            report.questions_retired += bank_report.retired
        significant = _significant_question_keys(
            parsed, set(report.questions_changed) | set(report.questions_added)
        )
        report.clinically_significant += significant
    version.changes = {
        "lessons_added": report.lessons_added,
        "lessons_changed": report.lessons_changed,
        "lessons_removed": report.lessons_removed,
        "questions_added": report.questions_added,
        "questions_changed": report.questions_changed,
        "questions_retired": report.questions_retired,
        "clinically_significant": report.clinically_significant,
    }
    version.save(update_fields=["changes"])
    audit.record(
        action="course_version.loaded",
        target=version,
        data={
            "course": course.slug,
            "number": version.number,
            "content_hash": version.content_hash,
            "changes": {k: len(v) for k, v in version.changes.items()},
        },
    )
    if publish:
        report.version = publish_version(version=version)
    return report


def _significant_question_keys(parsed: ParsedCourse, keys: set[str]) -> list[str]:
    found = []
    for bank in parsed.banks:
        for q in bank.questions:
            if q.get("key") in keys and (
                q.get("clinically_significant")
                or any(p.get("clinically_significant") for p in q.get("parts") or [])
            ):
                found.append(q["key"])
    return found


@transaction.atomic
def record_medical_review(*, version: CourseVersion, reviewer: str, review_date) -> CourseVersion:
    reviewer = (reviewer or "").strip()
    if not reviewer or review_date is None:
        raise CourseError("A medical review needs the reviewer's name and the review date.")
    version = CourseVersion.objects.select_for_update().get(pk=version.pk)
    version.medical_reviewer, version.medical_review_date = reviewer, review_date
    version.save(update_fields=["medical_reviewer", "medical_review_date"])
    audit.record(
        action="course_version.reviewed", target=version, data={"reviewer": reviewer, "date": review_date}
    )
    return version


@transaction.atomic
def publish_version(*, version: CourseVersion) -> CourseVersion:
    """Only a medically reviewed version can be published; the previously published one is superseded."""
    version = CourseVersion.objects.select_for_update().get(pk=version.pk)
    if not version.is_reviewed:
        raise PublishRefused(
            f"{version} has no medical review recorded. Record the reviewer's name and review date "
            "(medical_review in course.yaml) before publishing."
        )
    if version.status == CourseVersion.Status.PUBLISHED:
        return version
    CourseVersion.objects.filter(course=version.course, status=CourseVersion.Status.PUBLISHED).update(
        status=CourseVersion.Status.SUPERSEDED
    )
    version.status = CourseVersion.Status.PUBLISHED
    version.published_at = timezone.now()
    version.save(update_fields=["status", "published_at"])
    audit.record(
        action="course_version.published",
        target=version,
        data={"course": version.course_id, "number": version.number},
    )
    if version.changes.get("clinically_significant"):
        assign_clinical_updates(version=version)
    return version


__all__ = [
    "ContentError",
    "CourseError",
    "PublishRefused",
    "load_course",
    "publish_version",
    "record_medical_review",
]


# --- enrollments and progress ---------------------------------------------------------------------

from datetime import date, datetime, timedelta  # noqa: E402

from django.contrib.auth import get_user_model  # noqa: E402

from quizzes.models import Attempt, Quiz  # noqa: E402

from . import fast_reads, selectors  # noqa: E402
from .models import Enrollment, LessonProgress  # noqa: E402
from .progress import (  # noqa: E402
    lesson_minimum_seconds,
    lesson_seconds_remaining,
    recorded_lesson_seconds,
)

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
        from .models import Certificate

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
    from . import certificates

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
    version = selectors.current_version(course)
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
    view = selectors.lesson_for_learner(user=user, lesson_id=lesson_id)
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
    from lti import services as lti_services  # scores for LMS links to this quiz (sent after commit)

    lti_services.attempt_graded(attempt)


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
    from . import reports

    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reports.can_grant_overrides(staff):
        raise CloseRefused("Only supervisors and admins can close an attempt.")
    if not reason:
        raise CloseRefused("A reason is required.")
    attempt = Attempt.objects.filter(pk=attempt_id, user__in=reports.visible_staff(staff)).first()
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
    from . import reports
    from .models import SkillSignoff

    now = now or timezone.now()
    if not reports.can_grant_overrides(observer):
        raise SignoffRefused("Only supervisors and admins can sign off skills.")
    enrollment = (
        Enrollment.objects.select_for_update(of=("self",))
        .select_related("version", "user")
        .filter(pk=enrollment_id, user__in=reports.visible_staff(observer))
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


CLINICAL_UPDATE_DUE_DAYS = 30


@transaction.atomic
def assign_clinical_updates(
    *, version: CourseVersion, due_days: int = CLINICAL_UPDATE_DUE_DAYS, now: datetime | None = None
) -> int:
    """Everyone holding a valid certificate from an older version gets a short update: an enrollment
    with only the clinically significant changed lessons and a quiz of the changed questions, due in
    `due_days`. Their certificate stays valid until that date. Minor wording changes assign nothing.
    Idempotent: one update per person and version (a constraint)."""
    from .models import Certificate

    now = now or timezone.now()
    significant = set(version.changes.get("clinically_significant", []))
    lesson_keys = sorted(
        significant
        & set(version.changes.get("lessons_changed", []) + version.changes.get("lessons_added", []))
    )
    question_keys = sorted(significant - set(lesson_keys))
    lessons = list(Lesson.objects.filter(module__version=version, key__in=lesson_keys))
    # The update quiz reviews with full keys, so it is a practice quiz: a changed exam-pool item is
    # never drawn by name; its objective is retested from the practice pool instead.
    changed = quiz_services.drawable_questions(Pool.PRACTICE).filter(key__in=question_keys)
    practice_keys = sorted(changed.values_list("key", flat=True))
    exam_objectives = set(
        quiz_services.drawable_questions(Pool.EXAM)
        .filter(key__in=question_keys)
        .values_list("objective", flat=True)
    )
    draw = [{"question": key, "count": 1} for key in practice_keys]
    objectives = exam_objectives - set(changed.values_list("objective", flat=True))
    if not practice_keys:
        objectives |= {o for lesson in lessons for o in lesson.objectives}
    draw += [
        {"objective": o, "count": 1}
        for o in sorted(objectives)
        if quiz_services.drawable_questions(Pool.PRACTICE).filter(objective=o).exists()
    ]
    if not draw:
        return 0
    quiz, _ = quiz_services.upsert_quiz(
        key=f"{version.course.slug}-update-v{version.number}",
        settings_={
            "title": f"Clinical update quiz (version {version.number})",
            "kind": "module",
            "pass_mark": 80,
            "review_policy": "full",
            "layout": "all_on_one_page",
            "require_lessons_read": True,
            "time_limit_minutes": None,
        },
        draw=draw,
    )
    today = timezone.localdate(now)
    due = today + timedelta(days=due_days)
    holders = list(
        Certificate.objects.filter(
            enrollment__course=version.course,
            version__number__lt=version.number,
            revoked_at__isnull=True,
            user__is_active=True,
        )
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=today))
        .select_related("enrollment")
    )
    created = 0
    updated_users = set()
    for certificate in holders:
        _, was_created = Enrollment.objects.get_or_create(
            user_id=certificate.user_id,
            version=version,
            kind=Enrollment.Kind.UPDATE,
            defaults={
                "course": version.course,
                "cycle": certificate.enrollment.cycle,
                "source": Enrollment.Source.CLINICAL_UPDATE,
                "due_date": due,
                "enrolled_at": now,
                "update_quiz": quiz,
                "update_lesson_keys": lesson_keys,
                "lessons_total": len(lessons),
                "quizzes_total": 1,
            },
        )
        if was_created:
            created += 1
            updated_users.add(certificate.user_id)
    # Every valid certificate of a person given the update carries its deadline (a renewed person can
    # hold two valid certificates of the course, and both must lapse if the update is not done).
    Certificate.objects.filter(pk__in=[c.pk for c in holders if c.user_id in updated_users]).update(
        update_due=due
    )
    audit.record(
        action="clinical_update.assigned",
        target=version,
        now=now,
        data={"lessons": lesson_keys, "questions": question_keys, "people": created, "due": due},
    )
    return created
