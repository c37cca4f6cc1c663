"""Shared helpers for the course tests: the real content, a tiny course written to tmp_path, and
answering attempts from the content specs (correctly or not) in per-attempt opaque ids."""

import shutil
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import yaml
from django.conf import settings
from django.utils import timezone

from courses.catalog import services as catalog_services
from courses.catalog.loader import parse_course_dir
from courses.enrollment import services
from courses.models import Lesson
from quizzes import selectors as quiz_selectors
from quizzes.models import Question
from tests.quiz_content import correct_response
from tests.quiz_helpers import flat_payloads, wrong_response

REAL_COURSE_DIR = Path(settings.BASE_DIR) / "courses" / "content" / "substance-use-safety"
# The objectives and misconceptions of the clinical brief, vendored so tests need nothing outside the repository.
BRIEF_PATH = Path(settings.BASE_DIR) / "docs" / "content-brief.md"
EXPLAIN = "This is why the key is right. The tempting distractor is wrong for a stated reason."


def copy_real_course(tmp_path: Path) -> Path:
    target = tmp_path / "substance-use-safety"
    shutil.copytree(REAL_COURSE_DIR, target)
    return target


def specs_by_key(parsed) -> dict[str, dict]:
    """Every question spec of a parsed course by key, scenario parts included."""
    specs = {}
    for bank in parsed.banks:
        for spec in bank.questions:
            specs[spec["key"]] = spec
            for part in spec.get("parts") or []:
                specs[part["key"]] = part
    return specs


def answer_attempt(attempt, user, specs: dict, *, correct: bool = True, now=None) -> None:
    """Save an answer to every item of the attempt through the course service (the page/API path)."""
    keys = dict(
        Question.objects.filter(pk__in=[int(k) for k in attempt.layout["items"]]).values_list("pk", "key")
    )
    for payload in flat_payloads(quiz_selectors.attempt_for_learner(attempt)):
        spec = specs[keys[payload["id"]]]
        body = correct_response(payload, spec) if correct else wrong_response(payload, spec)
        services.save_quiz_answer(
            attempt_id=attempt.pk, user=user, question_id=payload["id"], response=body, now=now
        )


def take_quiz(user, quiz, specs: dict, *, correct: bool = True, now=None):
    """Start (or resume), answer everything, submit through the course orchestration."""
    attempt, _ = services.start_quiz_attempt(user=user, quiz=quiz, now=now)
    answer_attempt(attempt, user, specs, correct=correct, now=now)
    return services.submit_quiz_attempt(attempt_id=attempt.pk, user=user, now=now).attempt


# --- a tiny course ------------------------------------------------------------------------------------


def _q(key, qtype, objective, **extra):
    return {
        "key": key,
        "type": qtype,
        "objective": objective,
        "difficulty": 2,
        "critical": False,
        "source": "[TEST]",
        "stem": f"Stem of {key}?",
        "explanation": f"EXPLANATION-{key}. {EXPLAIN}",
        **extra,
    }


def tiny_bank(module: str, obj: str) -> list[dict]:
    """Four questions (all seven types, six gradable items), keys prefixed with `module`."""
    return [
        _q(
            f"{module}-single",
            "single",
            obj,
            critical=True,
            choices=[
                {"text": f"Right answer {module}", "correct": True, "feedback": f"FEEDBACK-{module}-right"},
                {"text": f"Wrong answer {module}", "correct": False, "feedback": f"FEEDBACK-{module}-wrong"},
                {"text": f"Other answer {module}", "correct": False},
            ],
        ),
        _q(
            f"{module}-multi",
            "multiple",
            obj,
            scoring="partial",
            choices=[
                {"text": "Alpha", "correct": True},
                {"text": "Beta", "correct": True},
                {"text": "Gamma", "correct": False},
                {"text": "Delta", "correct": False},
            ],
        ),
        _q(
            f"{module}-match",
            "matching",
            obj,
            pairs=[
                {"left": "Heroin", "right": "Opioid"},
                {"left": "Cocaine", "right": "Stimulant"},
                {"left": "Alcohol", "right": "Depressant"},
            ],
            extra_right=["Hallucinogen"],
        ),
        _q(
            f"{module}-case",
            "scenario",
            obj,
            parts=[
                _q(f"{module}-case-tf", "true_false", obj, answer=False),
                _q(f"{module}-case-num", "numeric", obj, answer={"value": 48, "tolerance": 0}, unit="hours"),
                _q(
                    f"{module}-case-order", "ordering", obj, items=["First step", "Second step", "Third step"]
                ),
            ],
        ),
    ]


TINY_ITEMS_PER_BANK = 6  # single, multiple, matching and three scenario parts
TINY_QUIZ = {
    "pass_mark": 80,
    "time_limit_minutes": None,
    "attempt_limit": None,
    "cooldown_minutes": 0,
    "grading_policy": "highest",
    "review_policy": "full",
    "layout": "one_per_page",
    "shuffle_questions": True,
    "shuffle_choices": True,
    "require_lessons_read": True,
}


def lesson_text(
    key: str, title: str, objective: str, *, body_extra: str = "", significant: bool = False
) -> str:
    body = (
        f"## {title}\n\nThis lesson teaches {objective}. "
        + "Staff read it on a break shift and come back to it later when they need it. " * 4
        + body_extra
    )
    return (
        "---\n"
        f"key: {key}\n"
        f"title: {title}\n"
        "minutes: 3\n"
        f"objectives: [{objective}]\n"
        'sources:\n  - "[TEST] A test source"\n'
        f"clinically_significant: {'true' if significant else 'false'}\n"
        "---\n" + body + "\n"
    )


def write_tiny_course(
    root: Path,
    *,
    slug: str = "tiny-course",
    modules: tuple[str, ...] = ("ma", "mb"),
    lessons_per_module: int = 2,
    quiz: dict | None = None,
    final: dict | None = None,
    with_final: bool = True,
    open_enrollment: bool = True,
    reviewed: bool = True,
    certifying_final: bool = False,
    course_extra: dict | None = None,
) -> Path:
    """A small valid course: `modules` with `lessons_per_module` lessons and a 4-question bank each,
    module quizzes drawing the whole bank and a final exam drawing two from each bank.

    certifying_final: each module also gets a reserved exam-pool bank (`<m>-exam.yaml`, other keys and
    texts) and the final is certifying, drawing two from each exam bank and reviewing by objective."""
    root = Path(root) / slug
    (root / "banks").mkdir(parents=True, exist_ok=True)
    course = {
        "slug": slug,
        "title": f"Tiny course {slug}",
        "summary": "A small course for tests.",
        "ce_hours": 1.5,
        "validity_months": 12,
        "open_enrollment": open_enrollment,
        "medical_review": {"reviewer": "Dr Test Reviewer", "date": date(2030, 1, 15)}
        if reviewed
        else {"reviewer": "", "date": None},
        "objectives": {f"{m.upper()}-1": f"Objective of module {m}." for m in modules},
        "modules": [
            {
                "key": m,
                "title": f"Module {m}",
                "quiz": {
                    **TINY_QUIZ,
                    **(quiz or {}),
                    "key": f"{slug}-{m}-quiz",
                    "title": f"Quiz {m}",
                    "draw": [{"bank": f"{slug}-{m}", "count": 4}],
                },
            }
            for m in modules
        ],
    }
    if with_final:
        course["final_exam"] = {
            **TINY_QUIZ,
            "layout": "all_on_one_page",
            "review_policy": "objectives" if certifying_final else "wrong",
            **({"certifying": True} if certifying_final else {}),
            **(final or {}),
            "key": f"{slug}-final",
            "title": "Final exam",
            "draw": [
                {"bank": f"{slug}-{m}{'-exam' if certifying_final else ''}", "count": 2} for m in modules
            ],
        }
    course.update(course_extra or {})
    (root / "course.yaml").write_text(yaml.safe_dump(course, sort_keys=False))
    for m in modules:
        lesson_dir = root / "lessons" / m
        lesson_dir.mkdir(parents=True, exist_ok=True)
        for i in range(1, lessons_per_module + 1):
            key = f"{slug}-{m}-lesson-{i}"
            (lesson_dir / f"{i:02d}-{key}.md").write_text(
                lesson_text(key, f"Lesson {i} of {m}", f"{m.upper()}-1")
            )
        bank = {
            "key": f"{slug}-{m}",
            "title": f"Bank {m}",
            "questions": tiny_bank(f"{slug}-{m}", f"{m.upper()}-1"),
        }
        (root / "banks" / f"{m}.yaml").write_text(yaml.safe_dump(bank, sort_keys=False))
        if certifying_final:
            exam = {
                "key": f"{slug}-{m}-exam",
                "title": f"Exam bank {m}",
                "pool": "exam",
                "questions": exam_bank(f"{slug}-{m}-exam", f"{m.upper()}-1"),
            }
            (root / "banks" / f"{m}-exam.yaml").write_text(yaml.safe_dump(exam, sort_keys=False))
    return root


def exam_bank(prefix: str, obj: str) -> list[dict]:
    """Reserved-pool items: the tiny bank's shapes with their own keys and choice texts, so a key
    harvested from practice review (by text) answers none of them."""
    questions = tiny_bank(prefix, obj)
    for spec in questions[:3] + questions[3]["parts"]:
        for choice in spec.get("choices", []):
            choice["text"] = f"Exam {choice['text']}"
        for pair in spec.get("pairs", []):
            pair["left"], pair["right"] = f"Exam {pair['left']}", f"Exam {pair['right']}"
        if "items" in spec:
            spec["items"] = [f"Exam {item}" for item in spec["items"]]
    return questions


def read_all_lessons(user, version, *, now=None) -> None:
    """Open every lesson its estimated minutes ago, then mark it read: a real reader's timing, so a
    course's minimum lesson time is met."""
    from datetime import timedelta

    at = now or timezone.now()
    for lesson_id, minutes in Lesson.objects.filter(module__version=version).values_list("pk", "minutes"):
        services.open_lesson(user=user, lesson_id=lesson_id, now=at - timedelta(minutes=minutes))
        services.complete_lesson(user=user, lesson_id=lesson_id, now=now)


def course_quizzes(version) -> list:
    """Every module quiz of a version in module order, then the final exam."""
    quizzes = [m.quiz for m in version.modules.select_related("quiz").order_by("position")]
    return quizzes + ([version.final_exam] if version.final_exam_id else [])


def complete_course(user, version, specs: dict, *, now=None) -> list:
    """Read every lesson, pass every quiz and have an admin sign off every required skill, through the
    services; returns the submitted attempts."""
    read_all_lessons(user, version, now=now)
    attempts = [take_quiz(user, quiz, specs, now=now) for quiz in course_quizzes(version)]
    sign_off_all_skills(user, version, now=now)
    return attempts


def sign_off_all_skills(user, version, *, now=None) -> None:
    from datetime import timedelta

    from accounts.models import Role
    from courses.models import Enrollment, RequiredSkill
    from tests.factories import UserFactory

    skills = list(RequiredSkill.objects.filter(version=version))
    if not skills:
        return
    observer = UserFactory(role=Role.ADMIN)
    enrollment = Enrollment.objects.filter(user=user, version=version).order_by("-cycle").first()
    when = now or timezone.now()
    for skill in skills:
        services.sign_off_skill(
            observer=observer,
            enrollment_id=enrollment.pk,
            skill_id=skill.pk,
            observed_on=timezone.localdate(when) - timedelta(days=0),
            now=now,
        )


def append_lesson_text(
    course_root: Path, module: str, number: int, text: str = "\nAdded in review.\n"
) -> Path:
    """Change the `number`-th lesson file of `module` (1-based) by appending text."""
    path = sorted((Path(course_root) / "lessons" / module).glob("*.md"))[number - 1]
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")
    return path


def load_tiny(tmp_path: Path, **options):
    """Write a tiny course (see write_tiny_course), load it, publish it when reviewed."""
    path = write_tiny_course(tmp_path, **options)
    report = catalog_services.load_course(path=path, publish=options.get("reviewed", True))
    return SimpleNamespace(
        path=path,
        course=report.course,
        version=report.version,
        specs=specs_by_key(parse_course_dir(path)),
        modules=list(report.version.modules.select_related("quiz").order_by("position")),
    )
