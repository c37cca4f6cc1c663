"""Helpers for the issue-11 tests (clinical updates, skill sign-off, remediation, surveyors, evidence
packs, retention): a tiny course with optional required skills and CE hours, reloads with a new medical
review, and certified learners (completed through the services, certificate issued without a PDF)."""

from datetime import date
from pathlib import Path
from types import SimpleNamespace

import yaml

from courses.catalog import services
from courses.catalog.loader import parse_course_dir
from courses.certificates import services as certificates
from courses.enrollment import services as enrollment_services
from courses.models import Certificate, Enrollment
from tests.certificate_helpers import evaluate
from tests.course_helpers import complete_course, lesson_text, specs_by_key, write_tiny_course

SKILLS = [
    {
        "key": "naloxone-spray",
        "title": "Gives nasal naloxone on a training device",
        "description": "Peels, inserts, presses; says when the second device goes in.",
    },
    {
        "key": "recovery-position",
        "title": "Places a breathing person in the recovery position",
        "description": "On a manikin, upper leg bent, airway open.",
    },
]


def edit_course_yaml(path: Path, **changes) -> None:
    course_file = Path(path) / "course.yaml"
    data = yaml.safe_load(course_file.read_text(encoding="utf-8"))
    data.update(changes)
    course_file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def write_course(root: Path, *, slug: str, skills=(), ce_hours: float | None = None, **options) -> Path:
    """write_tiny_course, plus required skills and a CE-hours override in course.yaml."""
    path = write_tiny_course(root, slug=slug, **options)
    changes = {}
    if skills:
        changes["skills"] = list(skills)
    if ce_hours is not None:
        changes["ce_hours"] = ce_hours
    if changes:
        edit_course_yaml(path, **changes)
    return path


def load(path: Path, *, publish: bool = True) -> SimpleNamespace:
    report = services.load_course(path=path, publish=publish)
    return SimpleNamespace(
        path=Path(path),
        report=report,
        course=report.course,
        version=report.version,
        specs=specs_by_key(parse_course_dir(path)),
        modules=list(report.version.modules.select_related("quiz").order_by("position")),
    )


def new_review(path: Path, review_date: date, reviewer: str = "Dr Second Reviewer") -> None:
    edit_course_yaml(path, medical_review={"reviewer": reviewer, "date": review_date})


def lesson_file(path: Path, module: str, number: int) -> Path:
    return sorted((Path(path) / "lessons" / module).glob("*.md"))[number - 1]


def rewrite_lesson(path: Path, module: str, number: int, *, extra: str, significant: bool) -> str:
    """Rewrite one lesson of the tiny course with extra body text and the flag; returns its key."""
    slug = yaml.safe_load((Path(path) / "course.yaml").read_text(encoding="utf-8"))["slug"]
    key = f"{slug}-{module}-lesson-{number}"
    lesson_file(path, module, number).write_text(
        lesson_text(
            key,
            f"Lesson {number} of {module}",
            f"{module.upper()}-1",
            body_extra=extra,
            significant=significant,
        ),
        encoding="utf-8",
    )
    return key


def edit_question(path: Path, module: str, key: str, **changes) -> None:
    """Change one question (or scenario part) of a bank file by key."""
    bank_file = Path(path) / "banks" / f"{module}.yaml"
    bank = yaml.safe_load(bank_file.read_text(encoding="utf-8"))
    found = False
    for question in bank["questions"]:
        for item in [question, *(question.get("parts") or [])]:
            if item["key"] == key:
                item.update(changes)
                found = True
    assert found, key
    bank_file.write_text(yaml.safe_dump(bank, sort_keys=False), encoding="utf-8")


def certify(user, tiny, *, now=None) -> Certificate:
    """Enrol, read, pass and get every skill signed through the services, then issue the certificate
    (the evaluation first for a CE course). The PDF is not rendered: fast."""
    enrollment_services.enroll(user=user, course=tiny.course, now=now)
    complete_course(user, tiny.version, tiny.specs, now=now)
    enrollment = (
        Enrollment.objects.filter(user=user, course=tiny.course, kind=Enrollment.Kind.REGULAR)
        .order_by("-cycle")
        .first()
    )
    assert enrollment.status == Enrollment.Status.COMPLETED
    if tiny.course.ce_hours > 0:
        evaluate(enrollment)
    outcome = certificates.issue_certificate(enrollment_id=enrollment.pk, now=now)
    assert outcome.certificate is not None, outcome.reason
    return outcome.certificate
