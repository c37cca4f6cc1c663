"""Catalog writes: load course content into versions, record the medical review, publish."""

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from core import audit
from courses.catalog.clinical_updates import assign_clinical_updates
from courses.catalog.loader import ParsedCourse, parse_course_dir
from courses.errors import CourseError
from courses.models import Course, CourseVersion, Lesson, Module, RequiredSkill
from quizzes import services as quiz_services
from quizzes.errors import ContentError
from quizzes.markdown import render_markdown


class PublishRefused(CourseError):
    code = "publish_refused"


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
