"""Authoring services: drafts from the published version, optimistic locking, the loader's validation,
the review workflow, and publishing through load_course (new question versions, clinical updates)."""

import datetime

import pytest
from django.utils import timezone

from authoring import services
from authoring.documents import document_problems, lesson_problems, question_problems
from authoring.models import Draft, DraftItem
from core.models import AuditEvent
from courses.models import CourseVersion
from quizzes.models import Question
from tests.authoring.helpers import edit, item, people, published_tiny

pytestmark = pytest.mark.django_db
Kind = DraftItem.Kind
TODAY = timezone.localdate()


@pytest.fixture
def tiny(tmp_path):
    return published_tiny(tmp_path)


def test_a_draft_starts_from_the_published_version_with_flags_cleared(tiny):
    author, _ = people()
    draft = services.start_draft(actor=author, course=tiny.course)
    assert draft.base_version == tiny.version
    doc = services.draft_document(draft)
    assert [m["key"] for m in doc["modules"]] == ["ma", "mb"]
    assert len(doc["modules"][0]["lessons"]) == 2
    assert doc["course"]["medical_review"] == {"reviewer": "", "date": None}
    assert not any(lesson["clinically_significant"] for m in doc["modules"] for lesson in m["lessons"])
    assert document_problems(doc) == []  # an untouched draft loads
    assert AuditEvent.objects.filter(action="draft.started").count() == 1
    with pytest.raises(services.AuthoringError, match="already has an open draft"):
        services.start_draft(actor=author, course=tiny.course)


def test_only_authors_edit_and_only_reviewers_approve(tiny):
    author, reviewer = people()
    with pytest.raises(services.NotAllowed):
        services.start_draft(actor=reviewer, course=tiny.course)
    draft = services.start_draft(actor=author, course=tiny.course)
    row = item(draft, Kind.LESSON, "tiny-course-ma-lesson-1")
    with pytest.raises(services.NotAllowed):
        services.save_item(item_id=row.pk, revision=row.revision, data=row.data, actor=reviewer)
    services.submit_for_review(draft_id=draft.pk, actor=author)
    with pytest.raises(services.NotAllowed):
        services.approve(draft_id=draft.pk, actor=author, name="A", credential="RN", review_date=TODAY)


def test_a_stale_save_is_refused_and_names_who_saved_first(tiny):
    author, _ = people()
    other = people()[0]
    draft = services.start_draft(actor=author, course=tiny.course)
    row = item(draft, Kind.LESSON, "tiny-course-ma-lesson-1")
    services.save_item(item_id=row.pk, revision=row.revision, data={**row.data, "title": "Mine"}, actor=other)
    with pytest.raises(services.EditConflict, match=other.display_name):
        services.save_item(
            item_id=row.pk, revision=row.revision, data={**row.data, "title": "Yours"}, actor=author
        )
    assert item(draft, Kind.LESSON, row.key).data["title"] == "Mine"
    saved = AuditEvent.objects.filter(action="draft.item_saved")
    assert saved.count() == 1 and saved.get().data["key"] == row.key


def test_keys_never_change_and_unchanged_saves_write_nothing(tiny):
    author, _ = people()
    draft = services.start_draft(actor=author, course=tiny.course)
    row = item(draft, Kind.QUESTION, "tiny-course-ma-single")
    same = services.save_item(item_id=row.pk, revision=row.revision, data=dict(row.data), actor=author)
    assert same.revision == row.revision
    moved = services.save_item(
        item_id=row.pk, revision=row.revision, data={**row.data, "key": "other"}, actor=author
    )
    assert moved.data["key"] == "tiny-course-ma-single"


def test_problems_are_reported_next_to_their_fields(tiny):
    bad_question = {
        "key": "q-1",
        "type": "single",
        "objective": "XX-9",
        "stem": "",
        "explanation": "e",
        "source": "s",
        "choices": [{"text": "a", "correct": True}, {"text": "b", "correct": True}],
    }
    found = question_problems(bad_question, objectives={"MA-1"})
    assert "stem" in found and "choices" in found and found["objective"] == ["unknown objective XX-9"]
    bad_lesson = {
        "key": "l-1",
        "title": "",
        "minutes": 0,
        "objectives": ["MA-1"],
        "sources": [],
        "body": "short",
    }
    found = lesson_problems(bad_lesson, objectives={"MA-1"})
    assert set(found) >= {"title", "minutes", "sources", "body"}


def test_submit_needs_a_draft_the_loader_accepts(tiny):
    author, _ = people()
    draft = services.start_draft(actor=author, course=tiny.course)
    module = item(draft, Kind.MODULE, "ma")
    quiz = {**module.data["quiz"], "draw": [{"bank": "tiny-course-ma", "count": 40}]}
    services.save_item(
        item_id=module.pk, revision=module.revision, data={**module.data, "quiz": quiz}, actor=author
    )
    with pytest.raises(services.DraftInvalid) as refused:
        services.submit_for_review(draft_id=draft.pk, actor=author)
    assert any("wants 40" in p for p in refused.value.problems)
    assert Draft.objects.get(pk=draft.pk).status == Draft.Status.EDITING
    # the rolled-back trial load left nothing behind
    assert CourseVersion.objects.filter(course=tiny.course).count() == 1


def test_author_to_reviewer_to_publish_makes_new_question_versions_and_records_the_review(tiny):
    author, reviewer = people()
    draft = services.start_draft(actor=author, course=tiny.course)
    old_question = Question.objects.get(key="tiny-course-ma-single", is_current=True)
    lesson = item(draft, Kind.LESSON, "tiny-course-ma-lesson-1")
    edit(
        draft,
        Kind.LESSON,
        lesson.key,
        author,
        body=lesson.data["body"] + "\n\nCall 911 first.",
        clinically_significant=True,
    )
    edit(
        draft,
        Kind.QUESTION,
        "tiny-course-ma-single",
        author,
        explanation="A better explanation. It cites [1].",
    )
    services.submit_for_review(draft_id=draft.pk, actor=author)
    with pytest.raises(services.AuthoringError):
        edit(draft, Kind.LESSON, lesson.key, author, title="Too late")
    services.add_comment(
        draft_id=draft.pk, item_kind=Kind.LESSON, item_key=lesson.key, body="Why 911 first?", actor=reviewer
    )
    services.request_changes(draft_id=draft.pk, note="See the lesson thread.", actor=reviewer)
    services.add_comment(
        draft_id=draft.pk, item_kind=Kind.LESSON, item_key=lesson.key, body="Protocol says so.", actor=author
    )
    services.submit_for_review(draft_id=draft.pk, actor=author)
    with pytest.raises(services.AuthoringError, match="medically approved"):
        services.publish(draft_id=draft.pk, actor=author)
    services.approve(
        draft_id=draft.pk, actor=reviewer, name="Dana Reviewer", credential="MD", review_date=TODAY
    )
    version = services.publish(draft_id=draft.pk, actor=author)

    assert version.status == CourseVersion.Status.PUBLISHED and version.number == 2
    assert (version.medical_reviewer, version.medical_review_date) == ("Dana Reviewer, MD", TODAY)
    assert CourseVersion.objects.get(pk=tiny.version.pk).status == CourseVersion.Status.SUPERSEDED
    assert lesson.key in version.changes["clinically_significant"]
    new_question = Question.objects.get(key="tiny-course-ma-single", is_current=True)
    assert new_question.version == old_question.version + 1
    assert (
        Question.objects.get(pk=old_question.pk).explanation == old_question.explanation
    )  # never edited in place
    assert Draft.objects.get(pk=draft.pk).status == Draft.Status.PUBLISHED
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"draft.approved", "draft.published", "course_version.published", "draft.commented"} <= actions


def test_reopening_an_approved_draft_drops_the_approval(tiny):
    author, reviewer = people()
    draft = services.start_draft(actor=author, course=tiny.course)
    services.submit_for_review(draft_id=draft.pk, actor=author)
    services.approve(draft_id=draft.pk, actor=reviewer, name="Dana", credential="MD", review_date=TODAY)
    draft = services.reopen(draft_id=draft.pk, actor=author)
    assert (draft.status, draft.reviewer_name, draft.approved_on) == (Draft.Status.EDITING, "", None)


def test_approval_needs_name_credential_and_a_past_date(tiny):
    author, reviewer = people()
    draft = services.start_draft(actor=author, course=tiny.course)
    services.submit_for_review(draft_id=draft.pk, actor=author)
    for name, credential, day in (
        ("", "MD", TODAY),
        ("Dana", "", TODAY),
        ("Dana", "MD", None),
        ("Dana", "MD", timezone.localdate() + datetime.timedelta(days=3)),
    ):
        with pytest.raises(services.AuthoringError):
            services.approve(
                draft_id=draft.pk, actor=reviewer, name=name, credential=credential, review_date=day
            )


def test_a_new_course_from_nothing(db):
    author, _ = people()
    draft = services.start_draft(actor=author, slug="new-course", title="A new course")
    assert services.draft_document(draft)["course"]["title"] == "A new course"
    module = services.add_item(draft_id=draft.pk, kind=Kind.MODULE, key="m1", actor=author)
    services.add_item(draft_id=draft.pk, kind=Kind.LESSON, key="m1-intro", parent_key="m1", actor=author)
    services.add_item(draft_id=draft.pk, kind=Kind.BANK, key="new-course-m1", actor=author)
    services.add_item(
        draft_id=draft.pk, kind=Kind.QUESTION, key="new-course-q1", parent_key="new-course-m1", actor=author
    )
    assert module.data["quiz"]["key"] == "m1-quiz"
    problems = document_problems(services.draft_document(draft))
    assert problems  # empty lesson and question: the loader says what is missing
    with pytest.raises(services.AuthoringError, match="lowercase"):
        services.add_item(draft_id=draft.pk, kind=Kind.LESSON, key="Bad Key", parent_key="m1", actor=author)


def test_moving_a_lesson_changes_the_order_learners_read_in(tiny):
    author, _ = people()
    draft = services.start_draft(actor=author, course=tiny.course)
    second = item(draft, Kind.LESSON, "tiny-course-ma-lesson-2")
    services.move_item(item_id=second.pk, up=True, actor=author)
    lessons = services.draft_document(draft)["modules"][0]["lessons"]
    assert [lesson["key"] for lesson in lessons] == ["tiny-course-ma-lesson-2", "tiny-course-ma-lesson-1"]
    services.move_item(item_id=second.pk, up=True, actor=author)  # already first: nothing moves
    assert item(draft, Kind.LESSON, second.key).position == 0
    assert AuditEvent.objects.filter(action="draft.item_moved").count() == 1  # the no-op is not a change


def test_an_import_plan_makes_one_bank_per_moodle_category_and_writes_all_or_nothing(tiny):
    author, _ = people()
    draft = services.start_draft(actor=author, course=tiny.course)
    gift = (
        "$CATEGORY: $course$/top/First\n\n// [tag:objective:MA-1]\n::a-one::Pick {=Yes ~No ~Maybe####Because [1].}\n\n"
        "$CATEGORY: $course$/top/Second\n\n// [tag:objective:MA-1]\n::b-one::Pick {=Yes ~No ~Maybe####Because [1].}\n"
    )
    plan = services.plan_import(
        draft_id=draft.pk, data=gift.encode(), fmt="gift", bank_key="imp", source="[1] S"
    )
    assert set(plan.banks) == {"imp-first", "imp-second"} and plan.accepted == 2 and not plan.refused
    assert not DraftItem.objects.filter(draft=draft, kind=Kind.BANK, key__startswith="imp").exists()
    services.import_plan(draft_id=draft.pk, plan=plan, actor=author, pool="exam")
    banks = DraftItem.objects.filter(draft=draft, kind=Kind.BANK, key__startswith="imp")
    assert {b.key: b.data["pool"] for b in banks} == {"imp-first": "exam", "imp-second": "exam"}
    again = services.plan_import(
        draft_id=draft.pk, data=gift.encode(), fmt="gift", bank_key="imp", source="[1] S"
    )
    assert len(again.refused) == 2  # the keys are taken now
    with pytest.raises(services.AuthoringError):
        services.import_plan(draft_id=draft.pk, plan=again, actor=author)


def test_a_page_racing_its_own_autosave_is_not_a_conflict_but_another_page_is(tiny):
    author, _ = people()
    draft = services.start_draft(actor=author, course=tiny.course)
    row = item(draft, Kind.LESSON, "tiny-course-ma-lesson-1")
    start = row.revision
    services.save_item(
        item_id=row.pk,
        revision=start,
        data={**row.data, "title": "Auto"},
        actor=author,
        autosave=True,
        editor="page-one",
    )
    saved = services.save_item(
        item_id=row.pk, revision=start, data={**row.data, "title": "Button"}, actor=author, editor="page-one"
    )
    assert saved.data["title"] == "Button" and saved.revision == start + 2
    with pytest.raises(services.EditConflict):  # another tab (or person) that read the old revision
        services.save_item(
            item_id=row.pk, revision=start, data={**row.data, "title": "Tab"}, actor=author, editor="page-two"
        )
    other, _ = people()
    with pytest.raises(services.EditConflict):  # the same token from someone else is not "the same page"
        services.save_item(
            item_id=row.pk, revision=start, data={**row.data, "title": "X"}, actor=other, editor="page-one"
        )


def test_removing_after_the_pages_own_autosave_is_not_a_conflict(tiny):
    author, _ = people()
    draft = services.start_draft(actor=author, course=tiny.course)
    row = item(draft, Kind.QUESTION, "tiny-course-ma-multi")
    services.save_item(
        item_id=row.pk,
        revision=row.revision,
        data={**row.data, "stem": "Edited?"},
        actor=author,
        autosave=True,
        editor="page",
    )
    with pytest.raises(services.EditConflict):
        services.remove_item(item_id=row.pk, revision=row.revision, actor=author, editor="other-page")
    services.remove_item(item_id=row.pk, revision=row.revision, actor=author, editor="page")
    assert not DraftItem.objects.filter(pk=row.pk).exists()
