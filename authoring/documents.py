"""A draft's items as a course document and back (the shape of `courses.catalog.exchange.course_folder`), and
the checks of a document: per item (every problem next to its field) and whole (the loader itself)."""

import re
import tempfile
from pathlib import Path

from django.db import transaction

from courses.catalog.exchange.course_folder import lesson_file_text, write_document
from courses.catalog.loader import _lesson, parse_course_dir
from quizzes import specs
from quizzes.errors import ContentError

from .models import DraftItem

Kind = DraftItem.Kind
FINAL_EXAM_KEY = "final-exam"


def items_from_document(document: dict) -> list[dict]:
    """The rows a draft holds for a document: kind, key, parent_key, position, data."""
    course = dict(document["course"])
    rows = [{"kind": Kind.COURSE, "key": course["slug"], "parent_key": "", "position": 0, "data": course}]
    for i, module in enumerate(document["modules"]):
        rows.append(
            {
                "kind": Kind.MODULE,
                "key": module["key"],
                "parent_key": "",
                "position": i,
                "data": {"key": module["key"], "title": module["title"], "quiz": module["quiz"]},
            }
        )
        for j, lesson in enumerate(module["lessons"]):
            rows.append(
                {
                    "kind": Kind.LESSON,
                    "key": lesson["key"],
                    "parent_key": module["key"],
                    "position": j,
                    "data": lesson,
                }
            )
    if document.get("final_exam"):
        rows.append(
            {
                "kind": Kind.FINAL_EXAM,
                "key": FINAL_EXAM_KEY,
                "parent_key": "",
                "position": 0,
                "data": document["final_exam"],
            }
        )
    for i, bank in enumerate(document["banks"]):
        rows.append(
            {
                "kind": Kind.BANK,
                "key": bank["key"],
                "parent_key": "",
                "position": i,
                "data": {"key": bank["key"], "title": bank["title"], "pool": bank["pool"]},
            }
        )
        for j, question in enumerate(bank["questions"]):
            rows.append(
                {
                    "kind": Kind.QUESTION,
                    "key": question["key"],
                    "parent_key": bank["key"],
                    "position": j,
                    "data": question,
                }
            )
    return rows


def document_from_items(items) -> dict:
    """The document a draft's items make (items in any order; positions decide)."""
    items = sorted(items, key=lambda i: (i.position, i.key))
    by_kind: dict[str, list] = {}
    for item in items:
        by_kind.setdefault(item.kind, []).append(item)
    course = by_kind[Kind.COURSE][0].data
    lessons: dict[str, list] = {}
    for item in by_kind.get(Kind.LESSON, []):
        lessons.setdefault(item.parent_key, []).append(item.data)
    questions: dict[str, list] = {}
    for item in by_kind.get(Kind.QUESTION, []):
        questions.setdefault(item.parent_key, []).append(item.data)
    final = by_kind.get(Kind.FINAL_EXAM)
    return {
        "course": course,
        "modules": [
            {**item.data, "lessons": lessons.get(item.key, [])} for item in by_kind.get(Kind.MODULE, [])
        ],
        "final_exam": final[0].data if final else None,
        "banks": [
            {**item.data, "questions": questions.get(item.key, [])} for item in by_kind.get(Kind.BANK, [])
        ],
    }


# --- problems next to their fields ------------------------------------------------------------------

QUESTION_FIELDS = (
    "stem",
    "explanation",
    "source",
    "objective",
    "difficulty",
    "critical",
    "clinically_significant",
    "scoring",
    "choice",
    "answer",
    "tolerance",
    "numeric",
    "items",
    "pairs",
    "matching",
    "extra_right",
    "parts",
    "scenario",
    "key",
    "type",
)
FIELD_ALIASES = {
    "choice": "choices",
    "tolerance": "answer",
    "numeric": "answer",
    "matching": "pairs",
    "scenario": "parts",
    "true/false": "answer",
}


def _field_of(message: str, fields) -> str:
    lowered = message.lower()
    for name in fields:
        if re.search(rf"\b{re.escape(name)}", lowered):
            return FIELD_ALIASES.get(name, name)
    return "__all__"


def question_problems(spec: dict, *, objectives) -> dict[str, list[str]]:
    """{field: [problems]} for one question, from the loader's own validation (quizzes.specs)."""
    found: dict[str, list[str]] = {}
    for problem in specs.validate_question(spec):
        _where, _, message = problem.partition(": ")
        if " > " in _where:  # a scenario part: shown with the parts
            field, message = "parts", problem
        else:
            field = _field_of(message, ("true/false",) + QUESTION_FIELDS)
        found.setdefault(field, []).append(message or problem)
    for item in [spec] + [p for p in spec.get("parts") or [] if isinstance(p, dict)]:
        if objectives is not None and item.get("objective") and item.get("objective") not in objectives:
            field = "objective" if item is spec else "parts"
            found.setdefault(field, []).append(f"unknown objective {item.get('objective')}")
    return found


LESSON_FIELDS = ("key", "title", "minutes", "objectives", "source", "body", "image", "front matter")


def lesson_problems(lesson: dict, *, objectives) -> dict[str, list[str]]:
    """{field: [problems]} for one lesson, from the loader's own lesson reader."""
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "module" / "01-lesson.md"
        path.parent.mkdir()
        path.write_text(lesson_file_text(lesson), encoding="utf-8")
        try:
            _lesson(path, problems)
        except Exception as exc:  # noqa: BLE001 - any unreadable text is a problem to show, not a 500
            problems.append(f"x: the lesson cannot be read ({exc})")
    found: dict[str, list[str]] = {}
    for problem in problems:
        message = problem.partition(": ")[2] or problem
        field = _field_of(message, LESSON_FIELDS)
        field = {"source": "sources", "image": "body", "front matter": "__all__"}.get(field, field)
        if "too short" in message:
            field = "body"
        found.setdefault(field, []).append(message)
    for objective in lesson.get("objectives") or []:
        if objectives is not None and objective not in objectives:
            found.setdefault("objectives", []).append(f"unknown objective {objective}")
    return found


class _Rollback(Exception):
    pass


def document_problems(document: dict) -> list[str]:
    """Every problem the loader finds in the document: the pure checks of the files
    (`parse_course_dir`), then a load that is always rolled back (draw rules against the banks,
    the exam pool, quiz settings). Empty: the draft would load."""
    with tempfile.TemporaryDirectory() as folder:
        try:
            root = write_document(document, folder)
            parse_course_dir(root)
        except ContentError as exc:
            return list(exc.problems)
        except (KeyError, TypeError, ValueError) as exc:
            return [f"the draft is incomplete: {exc}"]
        from courses.catalog import services as course_services

        try:
            with transaction.atomic():
                course_services.load_course(path=root)
                raise _Rollback
        except _Rollback:
            return []
        except ContentError as exc:
            return list(exc.problems)


def quiz_problems(quiz: dict) -> dict[str, list[str]]:
    """{field: [problems]} for a quiz's settings and draw rules, from the loader's own quiz reader."""
    from courses.catalog.loader import QUIZ_FIELDS, _quiz

    problems: list[str] = []
    _quiz(quiz, where="quiz", kind="module", problems=problems)
    found: dict[str, list[str]] = {}
    for problem in problems:
        message = problem.partition(": ")[2] or problem
        field = next((name for name in QUIZ_FIELDS if f" {name} " in f" {message} "), None)
        if field is None:
            field = "draw" if "draw" in message else "key" if "key" in message else "__all__"
        found.setdefault(field, []).append(message)
    for i, rule in enumerate(quiz.get("draw") or [], start=1):
        if isinstance(rule, dict) and sum(bool(rule.get(k)) for k in ("bank", "objective", "question")) != 1:
            found.setdefault("draw", []).append(
                f"draw rule {i} needs exactly one of bank, objective or question"
            )
    return found


def course_problems(course: dict) -> dict[str, list[str]]:
    """{field: [problems]} for the course settings, the loader's rules for each field."""
    found: dict[str, list[str]] = {}

    def whole(name, low, high, *, blank_ok=False):
        value = course.get(name)
        if value is None and blank_ok:
            return
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            found.setdefault(name, []).append(
                f"a whole number from {low} to {high}" + (", or blank" if blank_ok else "")
            )

    if not str(course.get("title") or "").strip():
        found.setdefault("title", []).append("title is required")
    ce_hours = course.get("ce_hours")
    if isinstance(ce_hours, bool) or not isinstance(ce_hours, (int, float)) or ce_hours < 0:
        found.setdefault("ce_hours", []).append("CE hours must be a number, 0 or more")
    whole("validity_months", 1, 240, blank_ok=True)
    whole("minimum_lesson_percent", 0, 100)
    objectives = course.get("objectives") or {}
    for key, text in objectives.items():
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]{0,19}", key) or not str(text).strip():
            found.setdefault("objectives", []).append(
                f"{key or '(blank)'}: write one objective per line as ID: text (ID up to 20 letters, digits, hyphens)"
            )
    if not objectives:
        found.setdefault("objectives", []).append("list the course's learning objectives")
    return found
