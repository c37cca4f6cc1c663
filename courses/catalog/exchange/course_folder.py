"""A stored course version written back as a content folder (courses/content/FORMAT.md), so content
edited elsewhere returns to files, diffs and review. `load_course` of the folder gives the same version.

Questions: banks hold versioned questions, not course versions, so the folder carries each bank's
current questions; for the latest course version that is exactly what it draws."""

from pathlib import Path

import yaml
from django.db.models import Prefetch

from courses.catalog.exchange.export import bank_specs
from courses.catalog.loader import QUIZ_FIELDS
from courses.models import CourseVersion, Lesson, Module
from quizzes.models import DrawRule, Question, QuestionBank, Quiz


def _dump(data) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)


def quiz_yaml(quiz: Quiz) -> dict:
    data = {"key": quiz.key}
    data.update({name: getattr(quiz, name) for name in QUIZ_FIELDS})
    data["draw"] = [
        {"bank": r.bank.key, "count": r.count}
        if r.bank_id
        else {"objective": r.objective, "count": r.count}
        if r.objective
        else {"question": r.question_key, "count": r.count}
        for r in quiz.draw_rules.all()
    ]
    return data


def version_banks(version: CourseVersion, quizzes: list[Quiz]) -> list[QuestionBank]:
    """Banks the version draws from: named by a rule, or holding a question of its objectives."""
    rules = [r for quiz in quizzes for r in quiz.draw_rules.all()]
    bank_ids = {r.bank_id for r in rules if r.bank_id}
    keys = [r.question_key for r in rules if r.question_key]
    objectives = list(version.objectives)
    bank_ids |= set(
        Question.objects.filter(is_current=True, parent__isnull=True, objective__in=objectives).values_list(
            "bank_id", flat=True
        )
    )
    bank_ids |= set(Question.objects.filter(key__in=keys, is_current=True).values_list("bank_id", flat=True))
    return list(QuestionBank.objects.filter(pk__in=bank_ids).order_by("key"))


def course_document(version: CourseVersion) -> dict:
    """The version in the shape of its content files, as plain data: `course` (course.yaml without
    modules and final exam), `modules` (each with its quiz and lessons), `final_exam`, `banks`. The
    browser's drafts (authoring) hold the same shape; `write_document` writes it as a folder."""
    course = version.course
    rules = Prefetch("draw_rules", queryset=DrawRule.objects.select_related("bank").order_by("position"))
    modules = list(
        Module.objects.filter(version=version)
        .select_related("quiz")
        .prefetch_related(Prefetch("quiz__draw_rules", queryset=rules.queryset))
        .prefetch_related(Prefetch("lessons", queryset=Lesson.objects.order_by("position")))
        .order_by("position")
    )
    final = (
        Quiz.objects.prefetch_related(rules).get(pk=version.final_exam_id) if version.final_exam_id else None
    )
    settings = {
        "slug": course.slug,
        "title": course.title,
        "summary": course.summary,
        "ce_hours": float(course.ce_hours),
        "provider_approval_number": course.provider_approval_number,
        "accrediting_statement": course.accrediting_statement,
        "validity_months": course.validity_months,
        "open_enrollment": course.open_enrollment,
        "minimum_lesson_percent": course.minimum_lesson_percent,
        "medical_review": {"reviewer": version.medical_reviewer, "date": version.medical_review_date},
        "objectives": dict(version.objectives),
        "skills": [
            {"key": s.key, "title": s.title, "description": s.description}
            for s in version.skills.order_by("position")
        ],
    }
    return {
        "course": settings,
        "modules": [
            {
                "key": m.key,
                "title": m.title,
                "quiz": quiz_yaml(m.quiz),
                "lessons": [
                    {
                        "key": lesson.key,
                        "title": lesson.title,
                        "minutes": lesson.minutes,
                        "objectives": list(lesson.objectives),
                        "sources": list(lesson.sources),
                        "clinically_significant": lesson.clinically_significant,
                        "body": lesson.body.strip(),
                    }
                    for lesson in m.lessons.all()
                ],
            }
            for m in modules
        ],
        "final_exam": quiz_yaml(final) if final is not None else None,
        "banks": [
            {"key": bank.key, "title": bank.title, "pool": bank.pool, "questions": bank_specs(bank)}
            for bank in version_banks(version, [m.quiz for m in modules] + ([final] if final else []))
        ],
    }


def lesson_file_text(lesson: dict) -> str:
    meta = {name: lesson[name] for name in LESSON_META if name in lesson}
    return f"---\n{_dump(meta)}---\n{lesson.get('body', '').strip()}\n"


LESSON_META = ("key", "title", "minutes", "objectives", "sources", "clinically_significant")


def write_document(document: dict, out: str | Path) -> Path:
    """Write a course document (see `course_document`) as a content folder `out/<slug>/`."""
    data = dict(document["course"])
    if not data.get("skills"):
        data.pop("skills", None)
    data["modules"] = [{"key": m["key"], "title": m["title"], "quiz": m["quiz"]} for m in document["modules"]]
    if document.get("final_exam"):
        data["final_exam"] = document["final_exam"]
    root = Path(out) / data["slug"]
    root.mkdir(parents=True, exist_ok=True)
    (root / "course.yaml").write_text(_dump(data), encoding="utf-8")
    for module in document["modules"]:
        folder = root / "lessons" / module["key"]
        folder.mkdir(parents=True, exist_ok=True)
        for position, lesson in enumerate(module["lessons"]):
            name = f"{position + 1:02d}-{lesson['key']}.md"
            (folder / name).write_text(lesson_file_text(lesson), encoding="utf-8")
    (root / "banks").mkdir(exist_ok=True)
    for bank in document["banks"]:
        bank_data = {
            "key": bank["key"],
            "title": bank["title"],
            "pool": bank["pool"],
            "questions": bank["questions"],
        }
        (root / "banks" / f"{bank['key']}.yaml").write_text(_dump(bank_data), encoding="utf-8")
    return root


def write_course_folder(version: CourseVersion, out: str | Path) -> Path:
    return write_document(course_document(version), out)
