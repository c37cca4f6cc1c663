"""export_course writes a version as a content folder; loading that folder gives the same version,
compared field by field (course, modules, quizzes and draw rules, lessons, skills, questions)."""

import io

import pytest
from django.core.management import CommandError, call_command

from courses.catalog import services
from courses.catalog.loader import parse_course_dir
from courses.models import CourseVersion
from quizzes.models import Question
from tests.course_helpers import REAL_COURSE_DIR

pytestmark = pytest.mark.django_db

QUIZ = ("title", "kind", "pass_mark", "attempt_limit", "time_limit_minutes", "cooldown_minutes")
QUIZ += ("grading_policy", "review_policy", "layout", "shuffle_questions", "shuffle_choices")
QUIZ += ("require_lessons_read", "remediation_extra_questions", "certifying")
LESSON = ("key", "title", "position", "minutes", "body", "body_html", "objectives", "sources")
LESSON += ("clinically_significant",)
QUESTION = ("key", "type", "stem", "explanation", "objective", "difficulty", "critical", "source", "scoring")
QUESTION += ("data", "position", "clinically_significant")


def quiz_rows(quiz):
    rules = [
        (r.position, r.bank and r.bank.key, r.objective, r.question_key, r.count)
        for r in quiz.draw_rules.all()
    ]
    return {name: getattr(quiz, name) for name in QUIZ}, rules


def version_rows(version: CourseVersion) -> dict:
    course = version.course
    return {
        "course": {
            f: getattr(course, f)
            for f in (
                "slug",
                "title",
                "summary",
                "ce_hours",
                "provider_approval_number",
                "accrediting_statement",
            )
            + ("validity_months", "open_enrollment", "minimum_lesson_percent")
        },
        "review": (version.medical_reviewer, version.medical_review_date),
        "objectives": version.objectives,
        "final": quiz_rows(version.final_exam) if version.final_exam else None,
        "skills": [(s.key, s.title, s.description, s.position) for s in version.skills.order_by("position")],
        "modules": [
            (
                m.key,
                m.title,
                m.position,
                quiz_rows(m.quiz),
                [{f: getattr(lesson, f) for f in LESSON} for lesson in m.lessons.order_by("position")],
            )
            for m in version.modules.order_by("position")
        ],
    }


def question_rows(questions) -> dict:
    out = {}
    for q in questions:
        choices = [
            (c.position, c.text, c.match_text, c.correct, c.feedback) for c in q.choices.order_by("position")
        ]
        parent = q.parent.key if q.parent_id else None
        out[q.key] = (
            {f: getattr(q, f) for f in QUESTION},
            q.bank.key,
            q.bank.title,
            q.bank.pool,
            parent,
            choices,
        )
    return out


def test_export_of_the_shipped_course_loads_back_as_the_same_version(tmp_path):
    original = services.load_course(path=REAL_COURSE_DIR).version
    questions_before = question_rows(
        Question.objects.filter(is_current=True).select_related("bank", "parent")
    )
    out = io.StringIO()
    call_command("export_course", "substance-use-safety", "--out", str(tmp_path), stdout=out)
    folder = tmp_path / "substance-use-safety"
    assert f"Wrote substance-use-safety version 1 to {folder}" in out.getvalue()
    assert len(list(folder.glob("lessons/*/*.md"))) == len(list(REAL_COURSE_DIR.glob("lessons/*/*.md")))
    assert sorted(p.name for p in folder.glob("banks/*.yaml")) == sorted(
        p.name for p in REAL_COURSE_DIR.glob("banks/*.yaml")
    )
    parse_course_dir(folder)  # the loader's own checks pass

    report = services.load_course(path=folder)
    assert report.created_version and report.version.number == 2  # other bytes, same content
    # Lesson files are rewritten (other bytes), so lessons_changed lists them; their rows are compared below.
    assert not (report.lessons_added or report.lessons_removed or report.questions_retired)
    # Every quiz setting is written out explicitly, so the settings hash (of what the file says) differs and
    # the quizzes are new rows; their settings and draw rules are compared field by field below.
    assert version_rows(report.version) == version_rows(original)
    after = question_rows(Question.objects.filter(is_current=True).select_related("bank", "parent"))
    assert after == questions_before
    assert len(after) > 150


def test_export_course_refuses_unknown_course_or_version(tmp_path):
    with pytest.raises(CommandError, match="no course"):
        call_command("export_course", "nope", "--out", str(tmp_path))
    services.load_course(path=REAL_COURSE_DIR)
    with pytest.raises(CommandError, match="no version 7"):
        call_command("export_course", "substance-use-safety", "--version", "7", "--out", str(tmp_path))
