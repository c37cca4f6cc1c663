"""The learner pages through Django's test client: catalog, course, lesson, quiz pages, review policies,
transcript; no answer key before submit; own attempts only; htmx autosave and expired sessions; exact
query counts that do not grow with data."""

import html
import re
from datetime import date

import pytest
from django.contrib.messages import get_messages
from django.test import override_settings

from courses.catalog import services as catalog_services
from courses.enrollment import services
from courses.models import Enrollment, LessonProgress
from quizzes import selectors as quiz_selectors
from quizzes.models import Answer, Attempt, Choice, Question
from tests.course_helpers import (
    REAL_COURSE_DIR,
    TINY_ITEMS_PER_BANK,
    answer_attempt,
    complete_course,
    load_tiny,
    read_all_lessons,
    take_quiz,
)
from tests.factories import UserFactory
from tests.quiz_content import correct_response
from tests.quiz_helpers import flat_payloads, form_fields, wrong_response

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # tests/factories.py
TOKEN = re.compile(r"^[0-9a-f]{10}$")


@pytest.fixture
def tiny(tmp_path):
    return load_tiny(tmp_path)


@pytest.fixture
def learner(db):
    return UserFactory(first_name="Ada", last_name="Learner")


@pytest.fixture
def learner_client(client, learner):
    # Tests that freeze time request `clock` before this fixture, so the session is made on that clock.
    client.force_login(learner)
    return client


def enrol(user, course, **kwargs) -> Enrollment:
    return services.enroll(user=user, course=course, **kwargs)[0]


def read_module(user, module) -> None:
    for lesson_id in module.lessons.values_list("pk", flat=True):
        services.complete_lesson(user=user, lesson_id=lesson_id)


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return html.unescape(response.content.decode())


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def start_via_page(learner_client, quiz) -> Attempt:
    response = learner_client.post(f"/quizzes/{quiz.pk}/start/")
    assert response.status_code == 302
    attempt = Attempt.objects.get(quiz=quiz, state="in_progress")
    assert response["Location"] == f"/attempts/{attempt.pk}/"
    return attempt


def items_by_key(attempt) -> dict[str, dict]:
    keys = dict(Question.objects.values_list("pk", "key"))
    return {keys[p["id"]]: p for p in flat_payloads(quiz_selectors.attempt_for_learner(attempt))}


def autosave(client, attempt, item: dict, body: dict, **headers):
    """POST one question's form fields the way htmx does (hx-include of the fieldset)."""
    data = {"question": str(item["id"]), **form_fields(item, body)}
    return client.post(f"/attempts/{attempt.pk}/autosave/", data, HTTP_HX_REQUEST="true", **headers)


# --- catalog, course, lesson ----------------------------------------------------------------------


def test_home_lists_assigned_courses_with_progress_and_open_courses(
    clock, tiny, tmp_path, learner_client, learner
):
    load_tiny(tmp_path / "open", slug="open-course")
    enrol(learner, tiny.course, due_date=date(2030, 2, 1))  # the clock says 1 March 2030
    services.complete_lesson(user=learner, lesson_id=tiny.modules[0].lessons.first().pk)
    text = page(learner_client.get("/"))
    assert "Welcome, Ada Learner." in text
    assert "Tiny course tiny-course" in text and "Overdue: was due 1 Feb 2030" in text
    assert "14% · 1/4 lessons read · 0/3 quizzes passed" in text
    assert "Open courses" in text and "Tiny course open-course" in text
    assert 'action="/courses/open-course/enroll/"' in text


def test_home_requires_login(client, db):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/"


def test_course_page_shows_modules_lessons_and_quiz_states(tiny, learner_client, learner):
    assert learner_client.get(f"/courses/{tiny.course.slug}/").status_code == 404  # not enrolled
    enrol(learner, tiny.course)
    read_module(learner, tiny.modules[0])
    text = page(learner_client.get(f"/courses/{tiny.course.slug}/"))
    assert "2 of 2 lessons read" in text and "0 of 2 lessons read" in text
    assert "0 of 2 lessons read · continue with Lesson 1 of mb" in text  # module b's quiz
    assert "2 of 4 lessons of the course read · continue with Lesson 1 of mb" in text  # the final exam
    assert text.count('data-quiz-state="not_started"') == 1  # module a's quiz is open
    assert "Medically reviewed by Dr Test Reviewer on 15 Jan 2030" in text
    assert "Take the module quiz" in text  # module a's quiz, just unlocked, before module b's lessons


def test_lesson_page_reads_marks_and_moves_on(tiny, learner_client, learner):
    enrollment = enrol(learner, tiny.course)
    first, second = tiny.modules[0].lessons.order_by("position")
    text = page(learner_client.get(f"/lessons/{first.pk}/"))
    assert "Lesson 1 of 4" in text and "about 3 min read" in text
    assert "Sources" in text and "[TEST] A test source" in text and "Mark as read and continue" in text
    opened = LessonProgress.objects.get(enrollment=enrollment, lesson=first)
    assert opened.first_opened_at is not None and opened.completed_at is None
    response = learner_client.post(f"/lessons/{first.pk}/read/")
    assert response.status_code == 302 and response["Location"] == f"/lessons/{second.pk}/"
    assert "You have read this lesson." in page(learner_client.get(f"/lessons/{first.pk}/"))
    enrollment.refresh_from_db()
    assert enrollment.lessons_read == 1


def test_lesson_of_a_course_the_learner_is_not_enrolled_in_is_404(tiny, learner_client):
    lesson = tiny.modules[0].lessons.first()
    assert learner_client.get(f"/lessons/{lesson.pk}/").status_code == 404
    assert learner_client.get("/lessons/999999999/").status_code == 404
    assert learner_client.post(f"/lessons/{lesson.pk}/read/").status_code == 404
    assert not LessonProgress.objects.exists()


def test_quiz_intro_is_locked_then_starts(tiny, learner_client, learner):
    enrol(learner, tiny.course)
    quiz = tiny.modules[0].quiz
    text = page(learner_client.get(f"/quizzes/{quiz.pk}/"))
    assert "0 of 2 lessons read · continue with Lesson 1 of ma" in text and "Start the quiz" not in text
    refused = learner_client.post(f"/quizzes/{quiz.pk}/start/")
    assert refused.status_code == 302 and refused["Location"] == f"/quizzes/{quiz.pk}/"
    assert any("0 of 2 lessons read · continue with Lesson 1 of ma" in m for m in messages_of(refused))
    assert not Attempt.objects.exists()
    read_module(learner, tiny.modules[0])
    text = page(learner_client.get(f"/quizzes/{quiz.pk}/"))
    assert "Start the quiz" in text and "80%, and every safety-critical question answered correctly" in text
    attempt = start_via_page(learner_client, quiz)
    assert "Resume your attempt" in page(learner_client.get(f"/quizzes/{quiz.pk}/"))
    assert start_via_page(learner_client, quiz) == attempt  # resume, not a second attempt


# --- attempt pages --------------------------------------------------------------------------------


def fieldsets(text: str) -> list[str]:
    return re.findall(r'<fieldset class="question" id="question-(\d+)"', text)


def test_one_per_page_layout_shows_one_question_per_page_and_saves_on_next(tiny, learner_client, learner):
    enrol(learner, tiny.course)
    read_module(learner, tiny.modules[0])
    attempt = start_via_page(learner_client, tiny.modules[0].quiz)
    order = attempt.layout["order"]
    seen = []
    for number, qid in enumerate(order, start=1):
        shown = fieldsets(page(learner_client.get(f"/attempts/{attempt.pk}/?page={number}")))
        item = attempt.layout["items"][str(qid)]
        assert shown == [str(p) for p in item.get("parts", [qid])]
        seen += shown
    assert len(seen) == TINY_ITEMS_PER_BANK
    first = quiz_selectors.attempt_for_learner(attempt)["questions"][0]
    target = (first.get("parts") or [first])[0]
    body = correct_response(target, tiny.specs[Question.objects.get(pk=target["id"]).key])
    form = {"page": "1", "go": "next", **form_fields(target, body)}
    response = learner_client.post(f"/attempts/{attempt.pk}/", form)
    assert response.status_code == 302 and response["Location"] == f"/attempts/{attempt.pk}/?page=2"
    assert Answer.objects.filter(attempt=attempt, question_id=target["id"]).exists()


def test_all_on_one_page_layout_shows_every_question(tmp_path, learner_client, learner):
    tiny = load_tiny(tmp_path, quiz={"layout": "all_on_one_page"})
    enrol(learner, tiny.course)
    read_module(learner, tiny.modules[0])
    attempt = start_via_page(learner_client, tiny.modules[0].quiz)
    text = page(learner_client.get(f"/attempts/{attempt.pk}/"))
    assert len(fieldsets(text)) == TINY_ITEMS_PER_BANK
    assert "Save and next" not in text and "Page 1 of" not in text
    assert "Case: questions" in text  # the scenario's case stem introduces its parts


def test_attempt_page_carries_no_answer_key_before_submit(tiny, learner_client, learner):
    enrol(learner, tiny.course)
    read_module(learner, tiny.modules[0])
    attempt = start_via_page(learner_client, tiny.modules[0].quiz)
    choice_pks = {str(pk) for pk in Choice.objects.values_list("pk", flat=True)}
    for number in range(1, len(attempt.layout["order"]) + 1):
        raw = learner_client.get(f"/attempts/{attempt.pk}/?page={number}").content.decode()
        text = html.unescape(raw).lower()
        for secret in (
            "explanation-",
            "feedback-",
            "correct answer",
            "is_correct",
            "correct_answer",
            "explanation",
            "feedback",
        ):
            assert secret not in text, (number, secret)
        values = re.findall(r'<(?:input type="(?:radio|checkbox)"|option) [^>]*value="([^"]*)"', raw)
        answer_values = [v for v in values if v and not v.isdigit()]  # ordering positions are 1..n
        assert all(TOKEN.match(v) for v in answer_values), answer_values
        assert not set(answer_values) & choice_pks
    # the review page before submit carries no key either
    review = html.unescape(learner_client.get(f"/attempts/{attempt.pk}/review/").content.decode()).lower()
    assert "explanation-" not in review and "correct answer" not in review


@override_settings(COURSE_ALLOW_UNREVIEWED=True)
def test_real_final_exam_page_carries_no_explanation_or_feedback(learner_client, learner):
    report = catalog_services.load_course(path=REAL_COURSE_DIR)
    enrol(learner, report.course)
    read_all_lessons(learner, report.version)
    course_page = page(learner_client.get(f"/courses/{report.course.slug}/"))
    assert "Not yet medically reviewed." in course_page  # the demo shows an unreviewed draft, flagged
    attempt = start_via_page(learner_client, report.version.final_exam)
    text = " ".join(page(learner_client.get(f"/attempts/{attempt.pk}/")).split())
    # one item per objective, all from the reserved exam pool (the certifying final)
    final = report.version.final_exam
    assert len(attempt.layout["order"]) == sum(rule.count for rule in final.draw_rules.all())
    drawn_pools = set(
        Question.objects.filter(pk__in=attempt.layout["order"]).values_list("bank__pool", flat=True)
    )
    assert drawn_pools == {"exam"}
    assert len(fieldsets(text)) == quiz_selectors.attempt_for_learner(attempt)["total_items"]
    ids = [int(i) for i in attempt.layout["items"]]
    for question in Question.objects.filter(pk__in=ids).prefetch_related("choices"):
        assert " ".join(question.explanation.split())[:60] not in text, question.key
        for choice in question.choices.all():
            if choice.feedback:
                assert " ".join(choice.feedback.split())[:60] not in text, question.key
    # (a stem may itself ask "what is the correct answer?"; the review markup must be absent)
    assert 'class="explanation"' not in text and "correct answer</span>" not in text
    assert "review-item" not in text and "Source:" not in text


def test_htmx_autosave_saves_and_refuses_what_it_must(tiny, learner_client, learner):
    enrol(learner, tiny.course)
    read_module(learner, tiny.modules[0])
    attempt = start_via_page(learner_client, tiny.modules[0].quiz)
    items = items_by_key(attempt)
    key = f"{tiny.course.slug}-ma-single"
    item = items[key]
    body = correct_response(item, tiny.specs[key])
    saved = autosave(learner_client, attempt, item, body)
    assert saved.status_code == 200 and "Saved" in saved.content.decode()
    assert "<html" not in saved.content.decode()  # a partial, not a page
    stored = Answer.objects.get(attempt=attempt, question_id=item["id"])
    assert stored.response == {
        "choice_ids": [str(Choice.objects.get(question_id=item["id"], correct=True).pk)]
    }
    # the later save wins
    wrong = wrong_response(item, tiny.specs[key])
    assert autosave(learner_client, attempt, item, wrong).status_code == 200
    stored.refresh_from_db()
    assert stored.response != {
        "choice_ids": [str(Choice.objects.get(question_id=item["id"], correct=True).pk)]
    }
    # a question of another attempt is refused
    foreign = learner_client.post(
        f"/attempts/{attempt.pk}/autosave/", {"question": "999999"}, HTTP_HX_REQUEST="true"
    )
    assert foreign.status_code == 400
    learner_client.post(f"/attempts/{attempt.pk}/submit/")
    closed = autosave(learner_client, attempt, item, body)
    assert closed.status_code == 409 and "already been submitted" in closed.content.decode()


def test_review_page_lists_the_unanswered_questions(tiny, learner_client, learner):
    enrol(learner, tiny.course)
    read_module(learner, tiny.modules[0])
    attempt = start_via_page(learner_client, tiny.modules[0].quiz)
    payloads = flat_payloads(quiz_selectors.attempt_for_learner(attempt))
    first = payloads[0]
    autosave(
        learner_client,
        attempt,
        first,
        correct_response(first, tiny.specs[Question.objects.get(pk=first["id"]).key]),
    )
    text = page(learner_client.get(f"/attempts/{attempt.pk}/review/"))
    assert f"1 of {TINY_ITEMS_PER_BANK} questions answered." in text
    assert f"{TINY_ITEMS_PER_BANK - 1} questions not answered" in text
    listed = re.findall(r">Question (\d+)</a>", text)
    assert listed == [str(n) for n in range(2, TINY_ITEMS_PER_BANK + 1)]
    assert "Unanswered questions score zero." in text


def test_submit_twice_grades_once_and_says_so(clock, tiny, learner_client, learner):
    enrol(learner, tiny.course)
    read_module(learner, tiny.modules[0])
    attempt = start_via_page(learner_client, tiny.modules[0].quiz)
    answer_attempt(attempt, learner, tiny.specs)
    first = learner_client.post(f"/attempts/{attempt.pk}/submit/")
    assert first.status_code == 302 and first["Location"] == f"/attempts/{attempt.pk}/result/"
    attempt.refresh_from_db()
    graded = (
        attempt.submitted_at,
        attempt.score,
        list(Answer.objects.filter(attempt=attempt).values_list("points", "reason")),
    )
    clock.advance(minutes=3)
    second = learner_client.post(f"/attempts/{attempt.pk}/submit/")
    assert second.status_code == 302 and second["Location"] == f"/attempts/{attempt.pk}/result/"
    assert "This attempt was already submitted; here is its result." in messages_of(second)
    attempt.refresh_from_db()
    assert (
        attempt.submitted_at,
        attempt.score,
        list(Answer.objects.filter(attempt=attempt).values_list("points", "reason")),
    ) == graded
    # the back button: the attempt page sends the learner to the result
    back = learner_client.get(f"/attempts/{attempt.pk}/")
    assert back.status_code == 302 and back["Location"] == f"/attempts/{attempt.pk}/result/"
    assert "This attempt has already been submitted." in messages_of(back)
    review = learner_client.get(f"/attempts/{attempt.pk}/review/")
    assert review.status_code == 302 and review["Location"] == f"/attempts/{attempt.pk}/result/"
    stale_save = learner_client.post(f"/attempts/{attempt.pk}/", {"page": "1", "go": "next"})
    assert stale_save.status_code == 302 and stale_save["Location"] == f"/attempts/{attempt.pk}/result/"


def test_a_learner_cannot_open_another_learners_attempt(tiny, client, learner):
    enrol(learner, tiny.course)
    read_module(learner, tiny.modules[0])
    attempt, _ = services.start_quiz_attempt(user=learner, quiz=tiny.modules[0].quiz)
    intruder = UserFactory()
    enrol(intruder, tiny.course)
    client.force_login(intruder)
    item = flat_payloads(quiz_selectors.attempt_for_learner(attempt))[0]
    for response in (
        client.get(f"/attempts/{attempt.pk}/"),
        client.get(f"/attempts/{attempt.pk}/review/"),
        client.get(f"/attempts/{attempt.pk}/result/"),
        client.post(f"/attempts/{attempt.pk}/", {"page": "1"}),
        client.post(f"/attempts/{attempt.pk}/submit/"),
        client.post(f"/attempts/{attempt.pk}/autosave/", {"question": item["id"]}, HTTP_HX_REQUEST="true"),
    ):
        assert response.status_code == 404
    missing = client.get("/attempts/999999999/")
    assert missing.status_code == 404
    attempt.refresh_from_db()
    assert attempt.is_open and not Answer.objects.filter(attempt=attempt).exists()


def test_htmx_autosave_with_an_expired_session_gets_401_and_a_login_redirect(tiny, client, learner):
    enrol(learner, tiny.course)
    read_module(learner, tiny.modules[0])
    attempt, _ = services.start_quiz_attempt(user=learner, quiz=tiny.modules[0].quiz)
    items = items_by_key(attempt)
    key = f"{tiny.course.slug}-ma-single"
    body = correct_response(items[key], tiny.specs[key])
    services.save_quiz_answer(
        attempt_id=attempt.pk, user=learner, question_id=items[key]["id"], response=body
    )
    page_url = f"/attempts/{attempt.pk}/?page=2"
    # no session (expired): htmx gets 401 with HX-Redirect to the login page, next = the attempt page
    response = autosave(client, attempt, items[key], body, HTTP_HX_CURRENT_URL=f"http://testserver{page_url}")
    assert response.status_code == 401
    assert response["HX-Redirect"] == f"/accounts/login/?next=http://testserver{page_url}"
    assert "saved answers are kept" in response.content.decode()
    # a plain form post is redirected to the login page instead
    plain = client.post(f"/attempts/{attempt.pk}/autosave/", {"question": items[key]["id"]})
    assert plain.status_code == 302 and plain["Location"].startswith("/accounts/login/?next=")
    # logging in again returns the learner to the attempt with the saved answer
    login = client.post(
        "/accounts/login/",
        {"username": learner.username, "password": PASSWORD, "next": f"http://testserver{page_url}"},
    )
    assert login.status_code == 302 and login["Location"].endswith(page_url)
    whole = page(client.get(f"/attempts/{attempt.pk}/?page=1")) + "".join(
        page(client.get(f"/attempts/{attempt.pk}/?page={n}")) for n in range(2, 5)
    )
    assert f'value="{body["choice_ids"][0]}" checked' in whole


# --- result page under each review policy ---------------------------------------------------------


def take_with_one_wrong(tiny, learner_client, learner, *, wrong_key: str):
    enrol(learner, tiny.course)
    read_module(learner, tiny.modules[0])
    attempt = start_via_page(learner_client, tiny.modules[0].quiz)
    for key, item in items_by_key(attempt).items():
        spec = tiny.specs[key]
        body = wrong_response(item, spec) if key == wrong_key else correct_response(item, spec)
        services.save_quiz_answer(attempt_id=attempt.pk, user=learner, question_id=item["id"], response=body)
    learner_client.post(f"/attempts/{attempt.pk}/submit/")
    attempt.refresh_from_db()
    return attempt


@pytest.mark.parametrize("policy", ["none", "score", "wrong", "full"])
def test_result_page_follows_the_review_policy(tmp_path, learner_client, learner, policy):
    tiny = load_tiny(tmp_path, quiz={"review_policy": policy})
    slug = tiny.course.slug
    attempt = take_with_one_wrong(tiny, learner_client, learner, wrong_key=f"{slug}-ma-multi")
    assert attempt.passed is True and str(attempt.score) == "83.33"
    text = page(learner_client.get(f"/attempts/{attempt.pk}/result/"))
    assert "Passed." in text
    shows = {
        "score": "Your score: 83.3%" in text,  # one decimal, truncated
        "which_wrong": "Incorrect" in text
        and ("Which answers were wrong" in text or "Answers and explanations" in text),
        "key": "correct answer" in text and "Correct order:" in text,
        "explanations": f"EXPLANATION-{slug}-ma-single" in text,
        "feedback": f"FEEDBACK-{slug}-ma-right" in text,
    }
    expected = {
        "none": dict.fromkeys(shows, False),
        "score": {**dict.fromkeys(shows, False), "score": True},
        "wrong": {**dict.fromkeys(shows, False), "score": True, "which_wrong": True},
        "full": dict.fromkeys(shows, True),
    }[policy]
    assert shows == expected


@pytest.mark.parametrize("policy", ["none", "wrong"])
def test_a_failed_attempt_names_the_missed_critical_objective_without_the_key(
    tmp_path, learner_client, learner, policy
):
    tiny = load_tiny(tmp_path, quiz={"review_policy": policy})
    slug = tiny.course.slug
    attempt = take_with_one_wrong(tiny, learner_client, learner, wrong_key=f"{slug}-ma-single")
    assert attempt.passed is False and attempt.score >= 80
    text = page(learner_client.get(f"/attempts/{attempt.pk}/result/"))
    assert "Not passed." in text and "You missed a safety-critical question" in text
    # named in words; the objective code is internal (issue 16)
    assert "Objective of module ma." in text and "MA-1" not in text
    assert f"Right answer {slug}-ma" not in text and "correct answer" not in text
    assert f"EXPLANATION-{slug}" not in text
    assert "Lessons to revisit" in text and "Lesson 1 of ma" in text
    assert "Start a new attempt" in text


def test_transcript_lists_courses_versions_scores_and_ce_hours(tiny, learner_client, learner, tmp_path):
    enrol(learner, tiny.course)
    complete_course(learner, tiny.version, tiny.specs)
    other = load_tiny(tmp_path / "other", slug="other-course")
    enrol(learner, other.course)
    text = page(learner_client.get("/transcript/"))
    assert "Training transcript" in text and "Ada Learner" in text
    rows = re.findall(r"<tr>(.*?)</tr>", " ".join(text.split()))
    done = next(r for r in rows if "Tiny course tiny-course" in r)
    assert "v1" in done and "Completed · 100%" in done and "1.5" in done
    assert "Quiz ma: 100% ✓" in done and "Final exam: 100% ✓" in done
    pending = next(r for r in rows if "Tiny course other-course" in r)
    assert "Not started · 0%" in pending and "1.5" not in pending


# --- query counts ---------------------------------------------------------------------------------

# session, user, then the selector: enrollments (with their final exams), open courses, their candidate
# versions, and the outlines of unfinished enrollments (next quiz step): modules, lessons, read
# lessons, attempts, quiz overrides
HOME_QUERIES = 10
# session, user, enrollment (with its final exam), modules, lessons, read lessons, attempts, overrides
COURSE_QUERIES = 8
# session, user, the lesson selector (lesson, enrollment, siblings), then open_lesson: savepoint, the lesson
# and its enrollment (2), get of the progress row, release; then the course outline for the next step
# (modules, lessons, read lessons, attempts, overrides)
LESSON_QUERIES = 15


def grow(tiny, learner, tmp_path, n: int) -> None:
    """More data for the same learner: more enrolled courses and more lessons read and quizzes taken."""
    read_all_lessons(learner, tiny.version)
    take_quiz(learner, tiny.modules[0].quiz, tiny.specs)
    take_quiz(learner, tiny.modules[1].quiz, tiny.specs, correct=False)
    for i in range(n):
        extra = load_tiny(tmp_path / f"extra{i}", slug=f"extra-course-{i}", lessons_per_module=3)
        enrol(learner, extra.course)
        read_all_lessons(learner, extra.version)
    load_tiny(tmp_path / "open-extra", slug="open-extra")


def test_home_query_count_is_exact_and_constant(
    tiny, tmp_path, learner_client, learner, django_assert_num_queries
):
    enrol(learner, tiny.course)
    load_tiny(tmp_path / "open", slug="open-course")
    with django_assert_num_queries(HOME_QUERIES):
        assert learner_client.get("/").status_code == 200
    grow(tiny, learner, tmp_path, 2)
    with django_assert_num_queries(HOME_QUERIES):
        text = page(learner_client.get("/"))
    assert text.count('class="course-card') == 5  # three assigned, two open


def test_course_query_count_is_exact_and_constant(
    tiny, tmp_path, learner_client, learner, django_assert_num_queries
):
    enrol(learner, tiny.course)
    with django_assert_num_queries(COURSE_QUERIES):
        assert learner_client.get(f"/courses/{tiny.course.slug}/").status_code == 200
    grow(tiny, learner, tmp_path, 2)
    with django_assert_num_queries(COURSE_QUERIES):
        text = page(learner_client.get(f"/courses/{tiny.course.slug}/"))
    assert text.count("badge-done") == 4
    # a bigger course costs the same
    big = load_tiny(tmp_path / "big", slug="big-course", modules=("ba", "bb", "bc"), lessons_per_module=5)
    enrol(learner, big.course)
    read_all_lessons(learner, big.version)
    with django_assert_num_queries(COURSE_QUERIES):
        assert page(learner_client.get("/courses/big-course/")).count("badge-done") == 15


def test_lesson_query_count_is_exact_and_constant(
    tiny, tmp_path, learner_client, learner, django_assert_num_queries
):
    enrol(learner, tiny.course)
    lesson = tiny.modules[1].lessons.order_by("position").first()
    learner_client.get(f"/lessons/{lesson.pk}/")  # the first visit records the opening
    with django_assert_num_queries(LESSON_QUERIES):
        assert learner_client.get(f"/lessons/{lesson.pk}/").status_code == 200
    grow(tiny, learner, tmp_path, 2)
    with django_assert_num_queries(LESSON_QUERIES):
        assert "You have read this lesson." in page(learner_client.get(f"/lessons/{lesson.pk}/"))
