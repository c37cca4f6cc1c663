"""Issue 20 in the browser: an author edits a draft (lesson with live preview and autosave, a question),
sends it to review; the medical reviewer comments and requests changes; the author answers and sends it
again; the reviewer approves with name, credential and date; the author publishes; a learner's course
page says who reviewed it. And an import of GIFT questions with the preview. axe on every page.

Screenshots: test-artifacts/screenshots/authoring-*.png."""

import io
import re

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from authoring.models import Draft, DraftItem
from courses.enrollment import services as course_services
from courses.models import CourseVersion
from quizzes.models import Question
from tests.beyond_helpers import load, write_course

from .conftest import axe_violations, screenshot
from .test_learner_journey import PASSWORD, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SLUG = "naloxone-refresher"


@pytest.fixture
def published(settings, monkeypatch, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    call_command("seed_demo", "--no-content", stdout=io.StringIO())
    return load(write_course(tmp_path, slug=SLUG, ce_hours=0, with_final=False))


def check(page, name: str) -> None:
    screenshot(page, f"authoring-{name}")
    violations = axe_violations(page)
    assert violations == [], f"axe found serious/critical violations on {name}: {violations}"


def switch_user(page, base, username):
    page.context.clear_cookies()
    log_in(page, base, username)


def test_author_reviewer_publish(live_server, browser_page, published):
    page, base = browser_page, live_server.url
    log_in(page, base, "author")
    page.click("nav >> text=Course content")
    page.wait_for_url(f"{base}/authoring/")
    check(page, "home")
    page.click("button:has-text('Start a draft from v1')")
    page.wait_for_url(re.compile(r"/authoring/drafts/\d+/$"))
    draft_url = page.url
    check(page, "draft")

    # A lesson: the preview follows the text through the learners' renderer; autosave stores it.
    page.click("text=Lesson 1 of ma")
    page.wait_for_url(re.compile(r"/items/\d+/$"))
    body = page.locator("#field-body")
    body.fill(body.input_value() + "\n\n> [!WARNING]\n> Give naloxone **again** after 2 to 3 minutes.")
    page.locator("#preview .callout").wait_for()
    assert "again" in page.locator("#preview strong").last.inner_text()
    page.check("input[name=clinically_significant]")
    page.locator("#save-status", has_text="Draft saved").wait_for()
    check(page, "lesson")
    lesson = DraftItem.objects.get(kind="lesson", key=f"{SLUG}-ma-lesson-1")
    assert "after 2 to 3 minutes" in lesson.data["body"] and lesson.data["clinically_significant"] is True

    # A question: the explanation changes, saved with the button.
    page.goto(draft_url)
    page.locator("details.bank summary").first.click()
    page.click(f"a:has-text('{SLUG}-ma-single')")
    page.fill("#field-explanation", "Naloxone reverses opioids only; call for help first. It cites [1].")
    page.click("button:has-text('Save')")
    page.locator(".flash", has_text="Saved.").wait_for()
    check(page, "question")

    # The module quiz editor and the diff.
    page.goto(draft_url)
    page.click("a:has-text('Module ma')")
    check(page, "module")
    page.goto(draft_url)
    page.click("text=Changes against the published version")
    page.locator("text=Marked clinically significant (1)").wait_for()
    assert page.locator("ins", has_text="Give naloxone **again**").count() == 1
    check(page, "diff")

    page.goto(draft_url)
    page.click("button:has-text('Send to medical review')")
    page.locator("text=Sent to medical review.").wait_for()

    # The reviewer reads keys and explanations, asks a question, sends it back.
    switch_user(page, base, "reviewer")
    page.goto(draft_url + "review/")
    assert page.locator(".key-correct", has_text=f"Right answer {SLUG}-ma").count() >= 1
    assert page.locator("text=call for help first").count() >= 1
    check(page, "review")
    thread = page.locator(f"#item-lesson-{SLUG}-ma-lesson-1")
    thread.locator("textarea").fill("Which guideline sets 2 to 3 minutes?")
    thread.locator("button:has-text('Comment')").click()
    page.fill("#changes-note", "Cite the source of the repeat-dose interval.")
    page.click("button:has-text('Send back to the author')")
    page.locator("text=Changes requested; the author").wait_for()

    # The author answers in the thread and sends it again.
    switch_user(page, base, "author")
    page.goto(draft_url)
    page.locator("text=Cite the source of the repeat-dose interval.").wait_for()
    page.goto(draft_url + "review/")
    thread = page.locator(f"#item-lesson-{SLUG}-ma-lesson-1")
    thread.locator("textarea").fill("The product label: repeat every 2 to 3 minutes [1].")
    thread.locator("button:has-text('Reply')").click()
    page.goto(draft_url)
    page.click("button:has-text('Send to medical review')")
    page.locator("text=Sent to medical review.").wait_for()

    # Approval with name, credential and date; then the author publishes.
    switch_user(page, base, "reviewer")
    page.goto(draft_url + "review/")
    assert page.locator("text=The product label: repeat every 2 to 3 minutes").count() == 1
    page.fill("#approve-credential", "MD, Medical director")
    page.click("button:has-text('Approve this version')")
    page.locator("text=Approved. An author or an admin can now publish it.").wait_for()
    switch_user(page, base, "author")
    page.goto(draft_url)
    page.click("button:has-text('Publish')")
    page.locator(".flash", has_text="Published as version 2.").wait_for()
    check(page, "published")

    version = CourseVersion.objects.get(course__slug=SLUG, status="published")
    assert version.number == 2 and version.medical_reviewer == "Dana Reviewer, MD, Medical director"
    assert Question.objects.filter(key=f"{SLUG}-ma-single").count() == 2  # a new version, the old kept
    assert Draft.objects.get().status == Draft.Status.PUBLISHED

    # The learner sees who reviewed it.
    learner = User.objects.get(username="learner")
    course_services.self_enroll(user=learner, course=version.course)
    switch_user(page, base, "learner")
    page.goto(f"{base}/courses/{SLUG}/")
    today = timezone.localdate()
    expected = f"Medically reviewed by Dana Reviewer, MD, Medical director on {today.day} {today:%b %Y}"
    page.locator(f"text={expected}").wait_for()
    screenshot(page, "authoring-learner-course")


GIFT = """$CATEGORY: $course$/top/Naloxone imports

// [tag:objective:MA-1] [tag:difficulty:1]
::nasal-dose::Where is nasal naloxone given? {
=Into one nostril#Right: one spray, one nostril.
~Into the mouth#It is a nasal spray.
~Onto the skin#It is not absorbed through the skin.
####One spray into one nostril; repeat in the other nostril after 2 to 3 minutes [1].
}

// [tag:objective:MA-1]
::repeat::Naloxone can wear off before the opioid does. {T####So stay with the person and watch [1].}
"""


def test_import_questions_with_a_preview(live_server, browser_page, published, tmp_path):
    page, base = browser_page, live_server.url
    author = User.objects.get(username="author")
    from authoring import services

    draft = services.start_draft(actor=author, course=published.course)
    log_in(page, base, "author")
    page.goto(f"{base}/authoring/drafts/{draft.pk}/")
    page.click("text=Import questions")
    check(page, "import")
    page.set_input_files(
        "#import-file", files=[{"name": "naloxone.gift", "mimeType": "text/plain", "buffer": GIFT.encode()}]
    )
    page.select_option("#import-fmt", "gift")
    page.fill("#import-bank", f"{SLUG}-imported")
    page.fill("#import-source", "[1] Naloxone nasal spray label")
    page.click("button:has-text('Preview')")
    page.locator("text=Preview: 2 to create in bank").wait_for()
    assert page.locator("td", has_text="line 4").count() == 1
    assert not DraftItem.objects.filter(draft=draft, kind="question", key="nasal-dose").exists()
    check(page, "import-preview")
    page.click("button:has-text('Import 2 questions into the draft')")
    page.locator("text=Imported 2 question(s)").wait_for()
    keys = set(
        DraftItem.objects.filter(draft=draft, kind="question", parent_key=f"{SLUG}-imported").values_list(
            "key", flat=True
        )
    )
    assert keys == {"nasal-dose", "repeat"}

    # The review packet: rendered by the task (eager here), then downloaded from its page.
    page.click("button:has-text('Review packet (PDF)')")
    page.wait_for_url(re.compile(r"/packets/\d+/$"))
    page.locator("text=Download the review packet (PDF)").wait_for()
    check(page, "packet")
    with page.expect_download() as info:
        page.click("text=Download the review packet (PDF)")
    assert info.value.suggested_filename.endswith(".pdf")
