"""Whether and when a learner may start a quiz is decided in one place: quizzes/eligibility.py.

The state matrix (test_quiz_state_matrix.py) shows that every page and the API agree today; this test
keeps a second copy of the rule from coming back. It reads the application's source: outside the rule,
no code compares against the attempt limit or adds the cool-down, no code counts extra attempts or
cool-down resets, and no template decides a quiz's state from raw settings or attempt counts.
"""

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
APPS = ("accounts", "core", "courses", "frontend", "quizzes", "elearn")
THE_RULE = "quizzes/eligibility.py"

# Files that name these settings without deciding anything, and why.
ALLOWED = {
    "quizzes/models.py": "the fields and the override kinds themselves",
    "quizzes/services.py": "the list of quiz settings accepted from content, and override validation",
    "quizzes/admin.py": "a column in the admin list",
    "quizzes/errors.py": "the API error code of a start the rule refused",
    "courses/catalog/loader.py": "the type of each setting in course.yaml",
    "courses/api.py": "the quiz's configured limit, shown as a fact next to the rule's verdict",
    "courses/assignments/overrides.py": "which override kinds a supervisor may grant",
    "courses/management/commands/generate_demo_org.py": "simulates learners clicking within the limits",
    "courses/demo.py": "demo data: waits out the cool-down between simulated attempts",
}

PY_DECIDING = re.compile(
    r"\.attempt_limit\b|\.cooldown_minutes\b|Kind\.EXTRA_ATTEMPT|Kind\.COOLDOWN_RESET|Kind\.TIME_MULTIPLIER"
    r"|\"(cooling_down|no_attempts_left)\"|'(cooling_down|no_attempts_left)'"
)
TEMPLATE_DECIDING = re.compile(
    r"(attempt_limit|cooldown_minutes|attempts_used|attempts_left|retry_at|last_submitted_at)\s*(==|!=|>=|<=|<|>)"
    r"|state\.state\s*==\s*['\"](locked|cooling_down|no_attempts_left|failed|not_started|passed)['\"]"
    r"|\bretry_at\b"
)


def _sources(pattern: str):
    for app in APPS:
        for path in sorted((ROOT / app).rglob(pattern)):
            rel = path.relative_to(ROOT).as_posix()
            if "/migrations/" in rel or "/static/" in rel:
                continue
            yield rel, path.read_text(encoding="utf-8")


def test_no_python_outside_the_rule_decides_a_quiz_state():
    found = []
    for rel, text in _sources("*.py"):
        if rel == THE_RULE or rel in ALLOWED:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if PY_DECIDING.search(line):
                found.append(f"{rel}:{number}: {line.strip()}")
    assert found == [], "a second copy of the start rule; call quizzes.eligibility instead:\n" + "\n".join(
        found
    )


def test_no_template_decides_a_quiz_state():
    found = []
    for rel, text in _sources("*.html"):
        for number, line in enumerate(text.splitlines(), start=1):
            if TEMPLATE_DECIDING.search(line):
                found.append(f"{rel}:{number}: {line.strip()[:160]}")
    assert found == [], "a template decides a quiz state; show the rule's state and reason:\n" + "\n".join(
        found
    )


def test_the_rule_is_the_only_place_that_knows_the_limits():
    rule = (ROOT / THE_RULE).read_text(encoding="utf-8")
    assert "quiz.attempt_limit" in rule and "quiz.cooldown_minutes" in rule
