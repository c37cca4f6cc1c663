"""Issue 17 in the browser: every learner page type at 375 px without sideways scrolling (header on one
row), and the ordering, matching, flag and navigator controls used with the keyboard alone, axe clean."""

import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from accounts.models import User
from courses.catalog.loader import parse_course_dir
from courses.certificates import services as certificates
from courses.enrollment import services
from courses.models import CourseEvaluation, Enrollment, Lesson
from quizzes.models import Answer, Attempt
from tests.course_helpers import (
    REAL_COURSE_DIR,
    course_quizzes,
    load_tiny,
    read_all_lessons,
    sign_off_all_skills,
    specs_by_key,
    take_quiz,
)

from .conftest import axe_violations, screenshot

PASSWORD = "e2e-demo-password-2026"
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(settings, monkeypatch):
    settings.COURSE_ALLOW_UNREVIEWED = True
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    call_command("seed_demo", stdout=io.StringIO())


def log_in(page, base, username):
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def widths(page) -> tuple[int, int]:
    return tuple(
        page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    )


def one_row_header(page) -> bool:
    """The brand and the menu (or the login link) sit side by side: same vertical centre, one row."""
    return page.evaluate(
        """() => {
          const lists = [...document.querySelectorAll('header.site-header nav > ul')]
            .filter(u => getComputedStyle(u).display !== 'none');
          const centre = u => { const r = u.getBoundingClientRect(); return r.top + r.height / 2; };
          const rows = lists.map(centre);
          return lists.length === 2 && Math.abs(rows[0] - rows[1]) < 8
            && document.querySelector('header.site-header nav').getBoundingClientRect().height < 90;
        }"""
    )


def test_every_learner_page_type_fits_a_375px_phone(live_server, chromium, demo):
    """One row per page type; the lesson row covers every lesson of the real course (lesson 1 has the
    sorting table). A failed row names the page and its width."""
    learner = User.objects.get(username="learner")
    enrollment = Enrollment.objects.get(user=learner)
    version = enrollment.version
    specs = specs_by_key(parse_course_dir(REAL_COURSE_DIR))
    read_all_lessons(learner, version)
    quizzes = course_quizzes(version)
    failed = take_quiz(learner, quizzes[0], specs, correct=False)
    passed = [take_quiz(learner, quiz, specs) for quiz in quizzes]
    sign_off_all_skills(learner, version)
    certificates.submit_evaluation(
        user=learner,
        enrollment_id=enrollment.pk,
        ratings=dict.fromkeys(CourseEvaluation.RATING_QUESTIONS, "5"),
        comments="",
    )
    # an open attempt for the attempt and review pages (a passed quiz may be practised again)
    supervisor = User.objects.get(username="supervisor")
    sup_enrollment = Enrollment.objects.get(user=supervisor)
    read_all_lessons(supervisor, sup_enrollment.version)
    open_attempt, _ = services.start_quiz_attempt(user=supervisor, quiz=quizzes[-1])

    context = chromium.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15000)
    base = live_server.url
    rows = [("login", "/accounts/login/")]
    log_in(page, base, "learner")
    rows += [
        ("home", "/"),
        ("course", "/courses/substance-use-safety/"),
        ("quiz intro", f"/quizzes/{quizzes[0].pk}/"),
        ("result, failed", f"/attempts/{failed.pk}/result/"),
        ("result, passed (next step)", f"/attempts/{passed[0].pk}/result/"),
        ("final exam intro", f"/quizzes/{quizzes[-1].pk}/"),
        ("transcript", "/transcript/"),
        ("certificates", "/certificates/"),
        ("evaluation", "/courses/substance-use-safety/evaluation/"),
        ("not found", "/no-such-page/"),
    ]
    rows += [
        (f"lesson {n}", f"/lessons/{pk}/")
        for n, pk in enumerate(
            Lesson.objects.filter(module__version=version)
            .order_by("module__position", "position")
            .values_list("pk", flat=True),
            start=1,
        )
    ]
    too_wide = {}
    for name, url in rows:
        page.goto(f"{base}{url}")
        scroll, client = widths(page)
        if scroll > client:
            too_wide[name] = scroll
            screenshot(page, f"too-wide-{name.replace(' ', '-').replace(',', '')}")
        assert one_row_header(page), name
    page.goto(f"{base}/courses/substance-use-safety/")
    screenshot(page, "phone-375-course")
    page.goto(f"{base}/transcript/")
    screenshot(page, "phone-375-transcript")
    # the phone menu opens and carries the links
    page.click("header .nav-narrow summary")
    assert page.locator("header .nav-narrow a", has_text="Certificates").is_visible()
    page.click("header .nav-narrow button:has-text('Log out')")
    log_in(page, base, "supervisor")
    for name, url in [
        ("attempt", f"/attempts/{open_attempt.pk}/"),
        ("attempt review", f"/attempts/{open_attempt.pk}/review/"),
    ]:
        page.goto(f"{base}{url}")
        scroll, client = widths(page)
        if scroll > client:
            too_wide[name] = scroll
    screenshot(page, "phone-375-review")
    context.close()
    assert too_wide == {}, f"pages wider than 375 px: {too_wide}"


def tab_to(page, predicate: str, limit: int = 80) -> None:
    for _ in range(limit):
        if page.evaluate(predicate):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"never reached {predicate}")


def test_ordering_matching_flag_and_navigator_with_the_keyboard_alone(live_server, browser_page, tmp_path):
    tiny = load_tiny(tmp_path)
    user = User.objects.create_user(username="keys", password=PASSWORD, first_name="Kay", last_name="Board")
    services.enroll(user=user, course=tiny.course)
    for lesson_id in tiny.modules[0].lessons.values_list("pk", flat=True):
        services.complete_lesson(user=user, lesson_id=lesson_id)
    attempt, _ = services.start_quiz_attempt(user=user, quiz=tiny.modules[0].quiz)
    layout = attempt.layout
    page_of = {}
    for number, qid in enumerate(layout["order"], start=1):
        item = layout["items"][str(qid)]
        for part in item.get("parts") or [qid]:
            page_of[layout["items"][str(part)]["type"]] = (number, part)
    page, base = browser_page, live_server.url
    log_in(page, base, "keys")

    # Ordering: positions chosen from the keyboard; a duplicate is refused with a message, then fixed.
    number, ordering_id = page_of["ordering"]
    page.goto(f"{base}/attempts/{attempt.pk}/?page={number}")
    selects = page.locator(f"#question-{ordering_id} .order-row select")
    count = selects.count()
    tab_to(page, f"document.activeElement === document.querySelectorAll('#question-{ordering_id} select')[0]")
    page.keyboard.press("ArrowDown")  # position 1
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")  # position 1 again: a duplicate
    # Locator assertions, not a string predicate: Playwright evals those, which the strict CSP blocks.
    expect(page.locator(f"#save-{ordering_id}")).to_contain_text("given to more than one step")
    assert page.locator(f"#question-{ordering_id} select[aria-invalid=true]").count() == 2
    screenshot(page, "keyboard-ordering-duplicate")
    assert not Answer.objects.filter(attempt=attempt, question_id=ordering_id).exists()
    page.keyboard.press("ArrowDown")  # second step: position 2
    for index in range(2, count):
        page.keyboard.press("Tab")
        for _ in range(index + 1):
            page.keyboard.press("ArrowDown")
    expect(page.locator(f"#save-{ordering_id} .saved")).to_have_attribute("data-answered", "1")
    saved = Answer.objects.get(attempt=attempt, question_id=ordering_id)
    assert len(saved.response["order"]) == count
    assert page.locator(f"#nav-{ordering_id}.answered").count() == 1  # navigator follows without a reload
    violations = axe_violations(page)
    assert violations == [], violations

    # Flag it for review with the keyboard: Space on the checkbox, the navigator shows the flag.
    page.keyboard.press("Tab")
    tab_to(page, f"document.activeElement && document.activeElement.name === 'flag-{ordering_id}'")
    page.keyboard.press("Space")
    page.wait_for_selector(f"#nav-{ordering_id}.flagged")
    assert Attempt.objects.get(pk=attempt.pk).flagged == [ordering_id]

    # Matching: arrow keys within each item's radio group, Tab to the next item.
    number, matching_id = page_of["matching"]
    tab_to(page, f"document.activeElement && document.activeElement.id === 'nav-{matching_id}'")
    page.keyboard.press("Enter")  # the navigator button saves this page and opens the matching page
    page.wait_for_url(re.compile(rf"\?page={number}$"))
    groups = page.locator(f"#question-{matching_id} fieldset.match-group")
    tab_to(
        page,
        f"document.activeElement && document.activeElement.name && document.activeElement.name.startsWith('q-{matching_id}-match-')",
    )
    for index in range(groups.count()):
        page.keyboard.press("ArrowDown")  # checks the next option in this item's group
        if index < groups.count() - 1:
            page.keyboard.press("Tab")
    expect(page.locator(f"#save-{matching_id} .saved")).to_have_attribute("data-answered", "1")
    pairs = Answer.objects.get(attempt=attempt, question_id=matching_id).response["pairs"]
    assert len(pairs) == groups.count()
    assert page.locator("#answered-count").inner_text() == "2"
    screenshot(page, "keyboard-matching")
    violations = axe_violations(page)
    assert violations == [], violations
    # every option is shown in full: no control narrower than its text
    clipped = page.evaluate(
        f"[...document.querySelectorAll('#question-{matching_id} label')].filter(l => l.scrollWidth > l.clientWidth + 1).length"
    )
    assert clipped == 0
