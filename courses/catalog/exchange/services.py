"""The one write of a question import: every accepted question in one transaction, or nothing."""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils.text import slugify

from core import audit
from courses.catalog.exchange import csv_format, gift, moodle_xml
from courses.catalog.exchange.common import ImportedQuestion, ParseResult
from courses.errors import CourseError
from courses.models import Course
from quizzes import services as quiz_services
from quizzes.errors import ContentError
from quizzes.models import Pool, Question

FORMATS = {"gift": gift, "moodle-xml": moodle_xml, "csv": csv_format}


class ImportRefused(CourseError):
    code = "import_refused"

    def __init__(self, message: str, report: "ImportReport | None" = None):
        super().__init__(message)
        self.report = report


@dataclass
class ImportReport:
    questions: list[ImportedQuestion]
    banks: dict[str, list[dict]] = field(default_factory=dict)  # bank key -> specs written (or to write)
    bank_titles: dict[str, str] = field(default_factory=dict)
    written: bool = False

    @property
    def refused(self) -> list[ImportedQuestion]:
        return [q for q in self.questions if q.status == "refused"]

    def lines(self) -> list[str]:
        out = []
        for q in self.questions:
            head = f"{q.where}: {q.status}"
            if q.spec:
                head += f" {q.spec['type']} {q.spec['key']}"
            detail = q.refusal or "; ".join(q.notes)
            out.append(f"{head}" + (f" ({detail})" if detail else ""))
        return out


def parse_file(data: bytes, *, fmt: str, bank_key: str, defaults: dict) -> ParseResult:
    if fmt not in FORMATS:
        return ParseResult(error=f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "moodle-xml":
        return moodle_xml.parse(data, bank_key=bank_key, defaults=defaults)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ParseResult(error=f"the file is not UTF-8 text (byte {exc.start})")
    return FORMATS[fmt].parse(text, bank_key=bank_key, defaults=defaults)


def _bank_for(category: str, *, bank_key: str, several: bool) -> tuple[str, str]:
    """Moodle categories become banks: one category (or none) is the --bank itself; several become
    `<bank>-<last part of the category>` each."""
    title = category.rstrip("/").rsplit("/", 1)[-1].strip() if category else ""
    if not several or not title:
        return bank_key, title or bank_key
    return f"{bank_key}-{slugify(title)}"[:100].strip("-"), title


def plan_import(
    data: bytes, *, fmt: str, bank_key: str, course_slug: str = "", defaults: dict | None = None
) -> ImportReport:
    """Parse and check everything without writing: the preview (`--dry-run`) and the first half of
    `import_questions`. Raises ImportRefused when the file itself is unusable."""
    if course_slug:
        course = Course.objects.filter(slug=course_slug).first()
        if course is None:
            raise ImportRefused(f"no course {course_slug!r}")
        version = course.versions.order_by("-number").first()
        objectives = set(version.objectives) if version else set()
    else:
        objectives = None
    parsed = parse_file(data, fmt=fmt, bank_key=bank_key, defaults=defaults or {})
    if parsed.error:
        raise ImportRefused(f"the file cannot be imported: {parsed.error}")
    report = ImportReport(questions=parsed.questions)
    categories = {q.category for q in parsed.questions}
    taken = set(
        Question.objects.filter(
            key__in=[q.spec["key"] for q in parsed.questions if q.spec]
            + [f"{bank_key}-{q.spec['key']}"[:118] for q in parsed.questions if q.spec]
        ).values_list("key", flat=True)
    )
    seen: set[str] = set()
    for q in parsed.questions:
        if not q.spec:
            continue
        if objectives is not None and q.spec["objective"] not in objectives:
            q.refuse(f"objective {q.spec['objective']} is not an objective of {course_slug}")
            continue
        key = q.spec["key"]
        if key in taken or key in seen:
            renamed = f"{bank_key}-{key}"[:118].rstrip("-")
            if renamed in taken or renamed in seen:
                q.refuse(f"key {key} is already used, and so is {renamed}")
                continue
            q.notes.append(f"key {key} is already used: imported as {renamed}")
            q.spec["key"] = key = renamed
        seen.add(key)
        bank, title = _bank_for(q.category, bank_key=bank_key, several=len(categories) > 1)
        report.banks.setdefault(bank, []).append(q.spec)
        report.bank_titles.setdefault(bank, title)
    return report


@transaction.atomic
def import_questions(
    data: bytes,
    *,
    fmt: str,
    bank_key: str,
    course_slug: str = "",
    defaults: dict | None = None,
    partial: bool = False,
    pool: str = Pool.PRACTICE,
    actor=None,
) -> ImportReport:
    """All or nothing: any refused question refuses the import unless `partial`, which writes the
    accepted ones. Every bank is written through quizzes' own service and validation."""
    report = plan_import(data, fmt=fmt, bank_key=bank_key, course_slug=course_slug, defaults=defaults)
    if report.refused and not partial:
        raise ImportRefused(f"{len(report.refused)} question(s) refused; nothing was imported", report)
    if not report.banks:
        raise ImportRefused("no question could be imported", report)
    try:
        for key, questions in report.banks.items():
            bank, _ = quiz_services.add_questions(
                key=key, title=report.bank_titles[key], questions=questions, pool=pool
            )
            audit.record(
                action="questions.imported",
                target=bank,
                actor=actor,
                data={"format": fmt, "keys": [q["key"] for q in questions]},
            )
    except ContentError as exc:
        raise ImportRefused("; ".join(exc.problems), report) from exc
    report.written = True
    return report
