""" "Overdue" is decided in one place: courses/enrollment/selectors.py (`is_overdue`, `overdue_filter`,
`days_overdue`, `OPEN_STATUSES`). Pages, the API, reports, exports, evidence packs and the demo
organisation ask it; this test keeps a second copy from coming back by reading the application's source:
outside the rule, no code compares a due date with today or counts the days past it."""

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
APPS = ("accounts", "authoring", "core", "courses", "elearn", "frontend", "quizzes", "xapi")
THE_RULE = "courses/enrollment/selectors.py"

# Files that compare due dates for another purpose, and why.
ALLOWED = {
    "courses/assignments/reminders.py": "reminder offsets and escalation thresholds count days from the due date",
    "courses/assignments/overrides.py": "an extension must move the due date later",
}

DECIDING = re.compile(r"due(_date)?__lt\b|\bdue(_date)?\s*<\s|\.due_date\)\.days")


def test_no_code_outside_the_rule_decides_what_is_overdue():
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if "/migrations/" in rel or rel == THE_RULE or rel in ALLOWED:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if DECIDING.search(line):
                    found.append(f"{rel}:{number}: {line.strip()}")
    assert found == [], "a second copy of the overdue rule; ask courses.enrollment.selectors:\n" + "\n".join(
        found
    )


def test_the_guard_sees_a_copy():
    """The pattern is not blind: the copies this test replaced are all caught by it."""
    for copy in (
        "due_date__lt=today,",
        "and enrollment.due_date < today",
        "enrollment_due__lt=today, enrollment_status__in=[...]",
        "enrollment.days_overdue = (today - enrollment.due_date).days",
    ):
        assert DECIDING.search(copy), copy
