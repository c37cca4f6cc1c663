"""The whole learner journey through the UI only: log in, read, fail, retake, pass, complete, transcript."""

import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from accounts.models import User
from courses.models import Course, Enrollment
from quizzes.models import Question

from .conftest import axe_violations, screenshot

PASSWORD = "e2e-demo-password-2026"
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(settings, monkeypatch):
    settings.COURSE_ALLOW_UNREVIEWED = True  # the demo course is not yet medically reviewed
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    call_command("seed_demo", stdout=io.StringIO())
    # The journey clicks through every lesson as fast as a browser can; the CE course's minimum lesson
    # time is covered by tests/unit/test_minimum_lesson_time.py and the finding-1 attacker test.
    Course.objects.update(minimum_lesson_percent=0)


def check_accessibility(page, name: str, checked: dict):
    screenshot(page, name)
    violations = axe_violations(page)
    assert violations == [], f"axe found serious/critical violations on {name}: {violations}"
    checked[name] = True


def log_in(page, base, username):
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    # Each role lands on its own home ("/" or, for a surveyor, the evidence packs).
    page.wait_for_url(lambda url: url.startswith(base) and "/accounts/login/" not in url)


def answer_correctly(page):
    """Answer every question shown, using the key from the database (the page itself never has it)."""
    for fieldset in page.locator("fieldset[data-question]").all():
        question = Question.objects.prefetch_related("choices").get(
            pk=int(fieldset.get_attribute("data-question"))
        )
        choices = list(question.choices.all())
        if question.type in ("single", "true_false", "multiple"):
            for choice in choices:
                if choice.correct:
                    fieldset.locator("label", has_text=choice.text).first.locator("input").check()
        elif question.type == "ordering":
            for choice in choices:
                fieldset.locator(".order-row", has=page.get_by_text(choice.text, exact=True)).locator(
                    "select"
                ).select_option(str(choice.position + 1))
        elif question.type == "matching":
            for choice in choices:
                group = fieldset.locator(
                    "fieldset.match-group", has=page.locator("legend", has_text=choice.text)
                ).first
                group.get_by_label(choice.match_text, exact=True).check()
        elif question.type == "numeric":
            value = question.data.get("value") or question.data.get("min")
            fieldset.locator("input[type=text]").fill(str(value))


def take_quiz(page, *, correctly: bool):
    """From the attempt page: answer (or not), go to review, submit. Returns the result banner text."""
    while True:
        if correctly:
            answer_correctly(page)
        next_button = page.locator("button[name=go][value=next]")
        if next_button.count() == 0:
            break
        next_button.click()
    page.click("button[name=go][value=review]")
    page.wait_for_url(re.compile(r"/review/$"))
    return page


def test_learner_reads_fails_retakes_passes_completes_and_sees_transcript(live_server, browser_page, demo):
    page, base = browser_page, live_server.url
    checked: dict[str, bool] = {}
    log_in(page, base, "learner")
    check_accessibility(page, "home", checked)
    assert page.get_by_text("Substance use safety for staff").count() >= 1
    # The course page's one primary button is the next step (courses.next_step).
    page.click("text=Substance use safety for staff")
    check_accessibility(page, "course", checked)
    assert page.get_by_text("Not yet medically reviewed").count() == 1
    expect(page.locator(".next-step-button")).to_have_text(re.compile(r"^Start the course: "))

    # The module quiz is locked until every lesson of the module is read, and says where to go on.
    page.click(".quiz-row >> nth=0 >> role=button")
    assert page.get_by_text(re.compile(r"0 of \d+ lessons read · continue with ")).count() >= 1
    page.goto(f"{base}/courses/substance-use-safety/")
    page.click(".next-step-button")
    check_accessibility(page, "lesson", checked)
    # "Mark as read and continue" walks through a module's lessons; its last lesson leads to its quiz.
    while "/lessons/" in page.url:
        page.click("#mark-read")
    assert re.search(r"/quizzes/\d+/$", page.url), page.url
    first_quiz = page.url
    # The course page now points to the quiz just unlocked, not past it.
    page.goto(f"{base}/courses/substance-use-safety/")
    expect(page.locator(".next-step-button")).to_have_text("Take the module quiz")
    page.click(".next-step-button")
    assert page.url == first_quiz
    check_accessibility(page, "quiz-intro", checked)
    page.click("button:has-text('Start the quiz')")
    check_accessibility(page, "attempt-one-per-page", checked)

    # Fail: submit with nothing answered, after the confirm step lists the unanswered questions.
    take_quiz(page, correctly=False)
    assert "not answered" in page.content()
    check_accessibility(page, "attempt-review", checked)
    page.click("#submit-attempt")
    assert page.get_by_text("Not passed.", exact=True).count() == 1
    check_accessibility(page, "result-failed", checked)
    assert page.get_by_text("Lessons to revisit").count() == 1

    # Back button after submit: the attempt page sends the learner to the result, graded once.
    page.go_back()
    page.go_back()
    page.reload()
    assert "/result/" in page.url  # back to the stored result, never an open attempt
    assert page.get_by_text("Not passed.", exact=True).count() == 1

    # Retake and pass: the result then leads to the next module.
    page.goto(f"{base}/courses/substance-use-safety/")
    expect(page.locator(".next-step-button")).to_have_text("Try the module quiz again")
    page.click(".next-step-button")
    page.click("button:has-text('Start a new attempt')")
    take_quiz(page, correctly=True)
    page.click("#submit-attempt")
    assert page.get_by_text("Passed.", exact=True).count() == 1
    check_accessibility(page, "result-passed", checked)
    expect(page.locator(".next-step-button")).to_have_text(re.compile(r"^Next module: "))

    # The other three modules by their next-step buttons: read on, take the quiz, pass, next module.
    for index in (1, 2, 3):
        page.click(".next-step-button")
        while "/lessons/" in page.url:
            page.click("#mark-read")
        page.click("button:has-text('Start the quiz')")
        take_quiz(page, correctly=True)
        page.click("#submit-attempt")
        assert page.get_by_text("Passed.", exact=True).count() == 1, f"module {index + 1} quiz not passed"

    # After the last module quiz: the final exam (all questions on one page), by its own name.
    expect(page.locator(".next-step-button")).to_have_text("Start the final exam")
    page.click(".next-step-button")
    page.click("button:has-text('Start the final exam')")
    check_accessibility(page, "attempt-all-on-one-page", checked)
    take_quiz(page, correctly=True)
    page.click("#submit-attempt")
    assert page.get_by_text("Passed.", exact=True).count() == 1
    supervisor_name = User.objects.get(username="supervisor").display_name
    expect(page.locator(".next-step-banner")).to_have_text(
        f"Only skill sign-offs remain. Ask {supervisor_name} to observe 2 skills."
    )

    # Lessons and quizzes done: the course waits for the supervisor to observe the practical skills.
    page.goto(f"{base}/courses/substance-use-safety/")
    assert page.get_by_text("You completed this course").count() == 0
    assert page.get_by_text("Waiting for sign-off").count() == 2
    page.click("header form button:has-text('Log out')")
    log_in(page, base, "supervisor")
    page.goto(f"{base}/team/signoffs/")
    check_accessibility(page, "team-signoffs", checked)
    # The demo team has other people waiting for sign-off too: sign off this learner's row only.
    learner_name = Enrollment.objects.get(user__username="learner").user.get_full_name()
    learner_row = page.locator("article.signoff", has_text=learner_name)
    assert learner_row.count() == 1
    for _ in range(2):
        learner_row.locator("form.signoff-form").first.locator("input[name=notes]").fill(
            "Observed on the manikin"
        )
        learner_row.locator("form.signoff-form").first.locator("button").click()
        assert page.get_by_text("Signed off and recorded.").count() == 1
    page.click("header form button:has-text('Log out')")
    log_in(page, base, "learner")

    page.goto(f"{base}/courses/substance-use-safety/")
    assert page.get_by_text("You completed this course").count() == 1
    # A CE course asks for the evaluation before the certificate is issued: the only step left.
    expect(page.locator(".next-step-banner")).to_have_text(
        "Only the course evaluation remains: complete it to receive your certificate."
    )
    page.click(".next-step-button:has-text('Complete the course evaluation')")
    check_accessibility(page, "evaluation", checked)
    for key in ("relevance", "clarity", "confidence"):
        page.locator(f"input[name={key}][value='5']").check()
    page.click("button:has-text('Submit the evaluation')")
    assert page.get_by_text("SUS-").count() >= 1
    check_accessibility(page, "certificates", checked)
    page.goto(f"{base}/transcript/")
    check_accessibility(page, "transcript", checked)
    assert "Completed" in page.content()

    enrollment = Enrollment.objects.get(user__username="learner")
    assert enrollment.status == Enrollment.Status.COMPLETED
    assert enrollment.progress_percent == 100
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{base}/courses/substance-use-safety/")
    screenshot(page, "course-375px")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert set(checked) >= {
        "home",
        "course",
        "lesson",
        "quiz-intro",
        "attempt-one-per-page",
        "attempt-review",
        "result-failed",
        "result-passed",
        "attempt-all-on-one-page",
        "transcript",
        "team-signoffs",
        "evaluation",
        "certificates",
    }


def test_keyboard_only_answer_is_autosaved(live_server, browser_page, demo):
    from courses.enrollment import services
    from courses.models import Lesson

    page, base = browser_page, live_server.url
    supervisor = User.objects.get(username="supervisor")
    enrollment = Enrollment.objects.get(user=supervisor)
    module = enrollment.version.modules.order_by("position").first()
    for lesson in Lesson.objects.filter(module=module):
        services.complete_lesson(user=supervisor, lesson_id=lesson.pk)

    log_in(page, base, "supervisor")
    page.goto(f"{base}/quizzes/{module.quiz_id}/")
    page.keyboard.press("Tab")
    # Reach the start button with the keyboard alone, then press Enter.
    for _ in range(40):
        if page.evaluate(
            "document.activeElement && document.activeElement.textContent.includes('Start the quiz')"
        ):
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/attempts/\d+/"))
    # Tab to the first answer control of the first question and answer it from the keyboard.
    for _ in range(60):
        tag = page.evaluate("document.activeElement ? document.activeElement.name || '' : ''")
        if tag.startswith("q-"):
            break
        page.keyboard.press("Tab")
    control = page.evaluate(
        "({name: document.activeElement.name, type: document.activeElement.type || document.activeElement.tagName})"
    )
    if control["type"] in ("radio", "checkbox"):
        page.keyboard.press("Space")
    elif control["type"].lower() in ("select-one", "select"):
        # An ordering is saved once every step has its own position: give them 1, 2, 3... in turn.
        count = page.evaluate(
            "document.activeElement.closest('[data-ordering]').querySelectorAll('select').length"
        )
        for index in range(count):
            for _ in range(index + 1):
                page.keyboard.press("ArrowDown")
            page.keyboard.press("Tab")
    else:
        page.keyboard.type("42")
        page.keyboard.press("Tab")
    page.wait_for_selector(".saved", timeout=10000)
    screenshot(page, "keyboard-answer")
    from quizzes.models import Answer

    assert Answer.objects.filter(attempt__user=supervisor).count() == 1
