"""The course loader over a copy of the real content: idempotent loads, new versions for changed files,
old attempts and completions untouched, refused content writes nothing, publishing needs a review."""

import io
from datetime import date

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from courses.catalog import selectors, services
from courses.catalog.loader import parse_course_dir
from courses.enrollment import services as enrollment_services
from courses.models import Course, CourseVersion, Enrollment, Lesson, LessonProgress, Module
from quizzes.errors import ContentError
from quizzes.models import Answer, Attempt, Choice, DrawRule, Question, QuestionBank, Quiz
from tests.course_helpers import complete_course, copy_real_course, read_all_lessons, specs_by_key, take_quiz
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CONTENT_MODELS = (Course, CourseVersion, Module, Lesson, QuestionBank, Question, Choice, Quiz, DrawRule)
LESSON = "lessons/ds/01-ds-three-families.md"
LESSON_KEY = "ds-three-families"


@pytest.fixture
def course_dir(tmp_path):
    return copy_real_course(tmp_path)


@pytest.fixture
def unreviewed_demo(settings):
    settings.COURSE_ALLOW_UNREVIEWED = True


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in CONTENT_MODELS}


def rows(queryset) -> list[dict]:
    return list(queryset.order_by("pk").values())


def edit(path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def append_to_lesson(course_dir, relative=LESSON, text="\nA sentence added in review.\n") -> None:
    path = course_dir / relative
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def edit_question(course_dir, bank: str, key: str, **changes) -> None:
    path = course_dir / "banks" / f"{bank}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    question = next(q for q in data["questions"] if q["key"] == key)
    question.update(changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


# --- idempotence and versions ---------------------------------------------------------------------


def test_first_load_creates_version_1(course_dir):
    report = services.load_course(path=course_dir)
    assert report.created_version is True
    version = report.version
    assert (version.number, version.status) == (1, CourseVersion.Status.DRAFT)
    assert not version.is_reviewed and version.medical_reviewer == "" and version.medical_review_date is None
    parsed = parse_course_dir(course_dir)
    assert version.content_hash == parsed.content_hash
    assert list(version.modules.values_list("key", flat=True)) == ["ds", "pt", "od", "lc"]
    assert Lesson.objects.filter(module__version=version).count() == 24
    assert version.final_exam is not None and version.final_exam.kind == Quiz.Kind.FINAL
    # a first load reports nothing as "changed"
    assert report.lessons_changed == report.questions_changed == report.clinically_significant == []


def test_loading_the_same_files_again_changes_nothing(course_dir):
    services.load_course(path=course_dir)
    before = row_counts()
    question_rows = rows(Question.objects.all())
    report = services.load_course(path=course_dir)
    assert report.created_version is False and report.version.number == 1
    assert row_counts() == before
    assert rows(Question.objects.all()) == question_rows  # no new question versions, nothing edited


def test_changing_one_lesson_makes_version_2_and_leaves_v1_records_alone(course_dir, unreviewed_demo, clock):
    first = services.load_course(path=course_dir)
    v1 = first.version
    specs = specs_by_key(parse_course_dir(course_dir))
    learner = UserFactory()
    enrollment, _ = enrollment_services.enroll(user=learner, course=first.course)
    attempts = complete_course(learner, v1, specs)
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.COMPLETED and enrollment.version_id == v1.pk
    snapshot = {
        "enrollment": rows(Enrollment.objects.all()),
        "lesson_progress": rows(LessonProgress.objects.all()),
        "attempts": rows(Attempt.objects.all()),
        "answers": rows(Answer.objects.all()),
        "v1_lessons": rows(Lesson.objects.filter(module__version=v1)),
        "v1_modules": rows(Module.objects.filter(version=v1)),
    }
    assert {a.pk for a in attempts} == {row["id"] for row in snapshot["attempts"]}

    clock.advance(days=3)
    append_to_lesson(course_dir)
    report = services.load_course(path=course_dir)

    assert report.created_version is True and report.version.number == 2
    assert report.lessons_changed == [LESSON_KEY]
    assert report.lessons_added == report.lessons_removed == report.questions_changed == []
    assert report.clinically_significant == []
    assert report.version.changes["lessons_changed"] == [LESSON_KEY]
    v1.refresh_from_db()
    assert v1.number == 1 and v1.status == CourseVersion.Status.DRAFT
    assert snapshot == {
        "enrollment": rows(Enrollment.objects.all()),
        "lesson_progress": rows(LessonProgress.objects.all()),
        "attempts": rows(Attempt.objects.all()),
        "answers": rows(Answer.objects.all()),
        "v1_lessons": rows(Lesson.objects.filter(module__version=v1)),
        "v1_modules": rows(Module.objects.filter(version=v1)),
    }
    old = Lesson.objects.get(module__version=v1, key=LESSON_KEY)
    new = Lesson.objects.get(module__version=report.version, key=LESSON_KEY)
    assert "added in review" not in old.body and "added in review" in new.body
    assert old.content_hash != new.content_hash
    # unchanged quizzes are reused, so statistics accumulate across versions
    assert set(Module.objects.filter(version=v1).values_list("quiz_id", flat=True)) == set(
        Module.objects.filter(version=report.version).values_list("quiz_id", flat=True)
    )
    # the completed learner keeps v1 and their progress still checks out
    out = io.StringIO()
    call_command("check_progress", stdout=out)
    assert "0 differences" in out.getvalue()


def test_changing_one_question_makes_a_new_question_version_and_keeps_the_old_one(
    course_dir, unreviewed_demo
):
    first = services.load_course(path=course_dir)
    specs = specs_by_key(parse_course_dir(course_dir))
    learner = UserFactory()
    enrollment_services.enroll(user=learner, course=first.course)
    ds = first.version.modules.get(key="ds")
    read_all_lessons(learner, first.version)  # (opened their estimated minutes ago: the CE minimum is met)
    attempt = take_quiz(learner, ds.quiz, specs)
    drawn = Question.objects.filter(pk__in=attempt.layout["order"]).exclude(type="scenario").first()
    answers_before = rows(Answer.objects.filter(attempt=attempt))
    attempt_before = rows(Attempt.objects.filter(pk=attempt.pk))
    assert Answer.objects.filter(attempt=attempt, question=drawn).exists()

    edit_question(course_dir, "ds", drawn.key, stem=drawn.stem + "\nRevised wording.")
    report = services.load_course(path=course_dir)

    assert report.created_version and report.version.number == 2
    assert report.questions_changed == [drawn.key]
    assert report.questions_added == report.questions_retired == report.lessons_changed == []
    versions = list(
        Question.objects.filter(key=drawn.key).order_by("version").values_list("version", "is_current")
    )
    assert versions == [(1, False), (2, True)]
    old = Question.objects.get(pk=drawn.pk)
    assert old.stem == drawn.stem and old.content_hash == drawn.content_hash
    assert Question.objects.get(key=drawn.key, is_current=True).stem.endswith("Revised wording.")
    assert rows(Answer.objects.filter(attempt=attempt)) == answers_before
    assert rows(Attempt.objects.filter(pk=attempt.pk)) == attempt_before
    # only that question got a new version
    assert Question.objects.filter(version__gt=1).count() == 1


def test_clinically_significant_changes_are_reported(course_dir):
    services.load_course(path=course_dir)
    edit(course_dir / LESSON, "clinically_significant: false", "clinically_significant: true")
    append_to_lesson(course_dir)
    edit_question(
        course_dir,
        "od",
        "od-snoring-unrousable",
        stem="True or false: a resident who cannot be woken but snores loudly is safely asleep.\n",
        clinically_significant=True,
    )
    report = services.load_course(path=course_dir)
    assert sorted(report.clinically_significant) == sorted([LESSON_KEY, "od-snoring-unrousable"])
    assert sorted(report.version.changes["clinically_significant"]) == sorted(report.clinically_significant)
    assert any(
        line.strip().startswith("clinically significant changes (2)") for line in report.summary_lines()
    )


# --- refused content writes nothing ---------------------------------------------------------------


def two_correct_answers(course_dir):
    edit(
        course_dir / "banks" / "ds.yaml",
        '      - text: "Stimulant, because it stops panic attacks"\n        correct: false',
        '      - text: "Stimulant, because it stops panic attacks"\n        correct: true',
    )
    return "banks/ds.yaml", "exactly one correct choice"


def unknown_objective(course_dir):
    edit(course_dir / "banks" / "pt.yaml", "objective: PT-1\n", "objective: PT-99\n")
    return "banks/pt.yaml", "unknown objective PT-99"


def lesson_without_front_matter(course_dir):
    path = course_dir / "lessons" / "od" / "01-od-recognising-an-overdose.md"
    body = path.read_text(encoding="utf-8").split("---\n", 2)[2]
    path.write_text(body, encoding="utf-8")
    return "lessons/od/01-od-recognising-an-overdose.md", "front matter"


@pytest.mark.parametrize("breakage", [two_correct_answers, unknown_objective, lesson_without_front_matter])
def test_invalid_content_is_refused_with_the_file_and_nothing_is_written(course_dir, breakage):
    services.load_course(path=course_dir)
    append_to_lesson(course_dir)  # a valid change riding along must not be loaded either
    where, what = breakage(course_dir)
    before = row_counts()
    question_rows = rows(Question.objects.all())
    with pytest.raises(ContentError) as caught:
        services.load_course(path=course_dir)
    assert any(p.startswith(where) and what in p for p in caught.value.problems), caught.value.problems
    assert row_counts() == before
    assert rows(Question.objects.all()) == question_rows
    assert CourseVersion.objects.get().number == 1


def test_every_problem_is_reported_in_one_pass(course_dir):
    expected = [
        two_correct_answers(course_dir),
        unknown_objective(course_dir),
        lesson_without_front_matter(course_dir),
    ]
    with pytest.raises(ContentError) as caught:
        services.load_course(path=course_dir)
    for where, what in expected:
        assert any(p.startswith(where) and what in p for p in caught.value.problems), (
            where,
            caught.value.problems,
        )
    assert row_counts() == dict.fromkeys(row_counts(), 0)


# --- medical review and publishing ----------------------------------------------------------------


def test_publish_is_refused_without_a_medical_review_and_allowed_after_one(course_dir):
    version = services.load_course(path=course_dir).version
    with pytest.raises(services.PublishRefused):
        services.publish_version(version=version)
    version.refresh_from_db()
    assert version.status == CourseVersion.Status.DRAFT and version.published_at is None
    with pytest.raises(enrollment_services.CourseError):
        services.record_medical_review(version=version, reviewer="  ", review_date=date(2030, 1, 1))
    services.record_medical_review(version=version, reviewer="Dr Test Reviewer", review_date=date(2030, 1, 1))
    published = services.publish_version(version=version)
    assert published.status == CourseVersion.Status.PUBLISHED and published.published_at is not None
    assert selectors.current_version(version.course) == published


def test_a_newly_published_version_supersedes_the_old_one(course_dir):
    v1 = services.load_course(path=course_dir).version
    services.record_medical_review(version=v1, reviewer="Dr A", review_date=date(2030, 1, 1))
    services.publish_version(version=v1)
    append_to_lesson(course_dir)
    v2 = services.load_course(path=course_dir).version
    services.record_medical_review(version=v2, reviewer="Dr A", review_date=date(2030, 2, 1))
    services.publish_version(version=v2)
    statuses = dict(CourseVersion.objects.values_list("number", "status"))
    assert statuses == {1: CourseVersion.Status.SUPERSEDED, 2: CourseVersion.Status.PUBLISHED}


def test_the_database_refuses_a_published_version_without_review(course_dir):
    version = services.load_course(path=course_dir).version
    with pytest.raises(IntegrityError), transaction.atomic():
        CourseVersion.objects.filter(pk=version.pk).update(status=CourseVersion.Status.PUBLISHED)
    with pytest.raises(IntegrityError), transaction.atomic():
        CourseVersion.objects.filter(pk=version.pk).update(
            status=CourseVersion.Status.PUBLISHED, medical_reviewer="Dr A", medical_review_date=None
        )
    assert CourseVersion.objects.get(pk=version.pk).status == CourseVersion.Status.DRAFT


def test_a_review_recorded_in_course_yaml_lets_load_course_publish(course_dir):
    edit(course_dir / "course.yaml", 'reviewer: ""', 'reviewer: "Dr Test Reviewer"')
    edit(course_dir / "course.yaml", "date: null", "date: 2030-01-15")
    report = services.load_course(path=course_dir, publish=True)
    version = CourseVersion.objects.get()
    assert version.status == CourseVersion.Status.PUBLISHED
    # the report (and so the command's output) tells the truth about what was stored
    assert report.version.status == CourseVersion.Status.PUBLISHED
    assert report.summary_lines()[0] == "substance-use-safety: new version 1 (published)"
    assert (version.medical_reviewer, version.medical_review_date) == ("Dr Test Reviewer", date(2030, 1, 15))


# --- the management command -----------------------------------------------------------------------


def load_command(*args) -> str:
    out = io.StringIO()
    call_command("load_course", *args, stdout=out)
    return out.getvalue()


def test_load_course_command_reports_new_unchanged_and_changed(course_dir):
    first = load_command(str(course_dir))
    assert "substance-use-safety: new version 1 (draft)" in first
    assert "not yet medically reviewed" in first
    again = load_command(str(course_dir))
    assert "substance-use-safety: unchanged (version 1, draft)" in again
    assert "new version" not in again
    append_to_lesson(course_dir)
    changed = load_command(str(course_dir))
    assert "substance-use-safety: new version 2 (draft)" in changed
    assert f"lessons changed (1): {LESSON_KEY}" in changed


def test_load_course_command_refuses_bad_content_and_unreviewed_publish(course_dir):
    with pytest.raises(CommandError, match="no medical review"):
        load_command(str(course_dir), "--publish")
    assert CourseVersion.objects.count() == 0  # the whole load rolled back
    unknown_objective(course_dir)
    with pytest.raises(CommandError, match=r"banks/pt\.yaml: .*unknown objective PT-99"):
        load_command(str(course_dir))
    assert row_counts() == dict.fromkeys(row_counts(), 0)


# --- the admin shows content read-only ------------------------------------------------------------


@pytest.mark.parametrize(
    ("app_model", "model"),
    [("quizzes/question", Question), ("courses/lesson", Lesson), ("courses/courseversion", CourseVersion)],
)
def test_admin_shows_content_read_only_even_to_a_superuser(client, course_dir, app_model, model):
    services.load_course(path=course_dir)
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    obj = model.objects.order_by("pk").first()
    assert client.get(f"/admin/{app_model}/").status_code == 200
    assert client.get(f"/admin/{app_model}/add/").status_code == 403
    before = rows(model.objects.filter(pk=obj.pk))
    change_url = f"/admin/{app_model}/{obj.pk}/change/"
    page = client.get(change_url)
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.post(change_url, {"title": "Edited in the admin", "stem": "Edited"}).status_code == 403
    assert client.get(f"/admin/{app_model}/{obj.pk}/delete/").status_code == 403
    assert rows(model.objects.filter(pk=obj.pk)) == before
