"""Exact query counts for the attempt lifecycle, the same for a quiz of 5 and of 20 questions.

Counts include the SAVEPOINT / RELEASE pair of each service's `transaction.atomic` (the test runs inside
a transaction). Course-level access checks are switched off: these are the quiz engine's own queries.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from quizzes import selectors, services
from quizzes.models import Answer
from tests.factories import UserFactory
from tests.quiz_content import correct_response, make_quiz
from tests.quiz_helpers import mixed_bank, payloads_by_key

pytestmark = pytest.mark.django_db

SIZES = [5, 20]

# savepoint, lock user, open attempt, overrides, submitted attempts, draw rules, candidates,
# scenario parts, choices, next number, insert, release
START_NEW = 12
START_RESUME = 4  # savepoint, lock user, open attempt, release
SAVE = 2  # read the one layout item, one guarded upsert (no transaction of its own on PostgreSQL)
# savepoint, lock attempt, questions, choices (the quiz's answer keys, read once per process), answers,
# one statement storing every item's points (unanswered ones inserted) and the attempt's grade, release
SUBMIT = 7
SUBMIT_WARM = 5  # the answer keys of these questions already loaded by an earlier submit
ATTEMPT_FOR_LEARNER = 3  # questions, their choices, answers


def sized_quiz(n: int):
    bank = mixed_bank(f"size{n}", n)
    quiz = make_quiz(key=f"size-{n}", bank_key=f"size-{n}", questions=bank)
    return quiz, {spec["key"]: spec for spec in bank}


def save_first(attempt, user, specs, key):
    payload = payloads_by_key(attempt)[key]
    return services.save_answer(
        attempt_id=attempt.pk,
        user=user,
        question_id=payload["id"],
        response=correct_response(payload, specs[key]),
    )


@pytest.mark.parametrize("n", SIZES)
def test_start_new_and_resume(django_assert_num_queries, user, n):
    quiz, _ = sized_quiz(n)
    with django_assert_num_queries(START_NEW):
        attempt, created = services.start_attempt(user=user, quiz=quiz)
    assert created and len(attempt.layout["order"]) == n
    with django_assert_num_queries(START_RESUME):
        again, created = services.start_attempt(user=user, quiz=quiz)
    assert not created and again.pk == attempt.pk


@pytest.mark.parametrize("n", SIZES)
def test_save(django_assert_num_queries, user, n):
    quiz, specs = sized_quiz(n)
    attempt, _ = services.start_attempt(user=user, quiz=quiz)
    payload = payloads_by_key(attempt)[f"size{n}-3"]  # an ordering question
    body = correct_response(payload, specs[f"size{n}-3"])
    with django_assert_num_queries(SAVE):
        services.save_answer(attempt_id=attempt.pk, user=user, question_id=payload["id"], response=body)
    with django_assert_num_queries(SAVE):  # the idempotent re-save is an upsert too
        services.save_answer(attempt_id=attempt.pk, user=user, question_id=payload["id"], response=body)


@pytest.mark.parametrize("n", SIZES)
def test_submit_and_repeat_submit(django_assert_num_queries, user, n):
    quiz, specs = sized_quiz(n)
    attempt, _ = services.start_attempt(user=user, quiz=quiz)
    save_first(attempt, user, specs, f"size{n}-0")  # one answered, the rest created unanswered
    services.forget_grading_keys()
    with django_assert_num_queries(SUBMIT):
        outcome = services.submit_attempt(attempt_id=attempt.pk, user=user)
    assert outcome.graded_now and outcome.attempt.max_points == n
    assert outcome.attempt.answers.count() == n
    other = UserFactory()
    second, _ = services.start_attempt(user=other, quiz=quiz)
    save_first(second, other, specs, f"size{n}-0")
    with django_assert_num_queries(SUBMIT_WARM):
        graded = services.submit_attempt(attempt_id=second.pk, user=other).attempt
    assert (graded.points, graded.max_points) == (outcome.attempt.points, n)
    with django_assert_num_queries(3):  # savepoint, lock, release: nothing to grade again
        assert services.submit_attempt(attempt_id=attempt.pk, user=user).graded_now is False


@pytest.mark.parametrize("n", SIZES)
def test_attempt_for_learner_before_and_after_submit(django_assert_num_queries, user, n):
    quiz, specs = sized_quiz(n)
    attempt, _ = services.start_attempt(user=user, quiz=quiz)
    save_first(attempt, user, specs, f"size{n}-0")
    with django_assert_num_queries(ATTEMPT_FOR_LEARNER):
        before = selectors.attempt_for_learner(attempt)
    assert len(before["questions"]) == n
    outcome = services.submit_attempt(attempt_id=attempt.pk, user=user)
    with django_assert_num_queries(ATTEMPT_FOR_LEARNER):  # full review: key, feedback, explanations
        after = selectors.attempt_for_learner(outcome.attempt)
    assert all("review" in q for q in after["questions"])


def test_quiz_standing_is_one_query(django_assert_num_queries, user):
    quiz, _ = sized_quiz(5)
    for _ in range(3):
        attempt, _ = services.start_attempt(user=user, quiz=quiz)
        services.submit_attempt(attempt_id=attempt.pk, user=user)
    with django_assert_num_queries(1):
        standing = selectors.quiz_standing(user=user, quiz=quiz)
    assert standing.attempts_used == 3


def _api_counts(n: int) -> dict[str, int]:
    """Queries per API request for one learner going through a quiz of n questions."""
    quiz, specs = sized_quiz(n)
    client = APIClient()
    client.force_authenticate(UserFactory())
    counts = {}

    def measure(name, call, status):
        with CaptureQueriesContext(connection) as ctx:
            response = call()
        assert response.status_code == status, response.content
        counts[name] = len(ctx)
        return response

    started = measure("start", lambda: client.post(f"/api/v1/quizzes/{quiz.pk}/attempts/"), 201).json()
    measure("resume", lambda: client.post(f"/api/v1/quizzes/{quiz.pk}/attempts/"), 200)
    question = next(q for q in started["questions"] if q["type"] == "matching")
    key = next(k for k, spec in specs.items() if spec["type"] == "matching")
    body = correct_response(question, specs[key])
    url = f"/api/v1/attempts/{started['id']}/answers/{question['id']}/"
    measure("save", lambda: client.put(url, body, format="json"), 200)
    measure("get", lambda: client.get(f"/api/v1/attempts/{started['id']}/"), 200)
    measure("submit", lambda: client.post(f"/api/v1/attempts/{started['id']}/submit/"), 200)
    measure("review", lambda: client.get(f"/api/v1/attempts/{started['id']}/"), 200)
    return counts


def test_api_query_counts_do_not_grow_with_the_number_of_questions():
    # A first pass of each size pays one-off work that is not what this test compares: the audit chain's
    # head row after a test that emptied it, and the grading specs of questions this process has not
    # graded yet (two reads, cached per question version).
    _api_counts(5)
    small = _api_counts(5)
    _api_counts(20)
    large = _api_counts(20)
    assert small == large


# --- the learner's hot paths as requests: API (token) and attempt page (session), course quiz ---------
#
# Every query a request makes, authentication included (a real token through the token endpoint, a real
# session through the login page), on a course quiz so the course orchestration runs. Exact, so a new
# query on these paths is a decision, not an accident.
API_SAVE = 3  # token + user, read the one layout item, guarded upsert
PAGE_AUTOSAVE = 4  # session, user, read the one layout item, guarded upsert
# token + user, then the quiz engine's submit (savepoint, lock, answers, one statement for the items'
# points and the attempt's grade, release) and the course's after-grading path (enrollment twice,
# progress: six reads and one update; the audit chain: lock the head, then the event and the head in one
# statement; the LMS links to this quiz the learner launched, for scores back to an LTI platform: one
# read). The learner is the request's user.
API_SUBMIT = 18
PAGE_SUBMIT = 19  # session, user, then the same as the API
# session, user, attempt, questions, choices, answers, the enrollment (with course, version, final exam and
# the learner's supervisor), the course outline (modules, lessons, read lessons, attempts, overrides) and
# the next step (no query of its own)
RESULT_PAGE = 14


def _course_learner(tmp_path):
    from courses.enrollment import services as course_services
    from tests.course_helpers import load_tiny, read_all_lessons

    tiny = load_tiny(tmp_path)
    learner = UserFactory()
    course_services.enroll(user=learner, course=tiny.course)
    read_all_lessons(learner, tiny.version)
    return tiny, learner, "correct horse battery staple"  # tests/factories.py


def _hot_path_counts(tmp_path) -> dict[str, int]:
    from django.test import Client

    from courses.enrollment import services as course_services

    tiny, learner, password = _course_learner(tmp_path)
    quiz = tiny.modules[0].quiz
    api = APIClient()
    token = api.post("/api/v1/auth/token/", {"username": learner.username, "password": password}).json()[
        "token"
    ]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    browser = Client()
    assert browser.login(username=learner.username, password=password)
    counts = {}

    def measure(name, call, status):
        with CaptureQueriesContext(connection) as ctx:
            response = call()
        assert response.status_code == status, (name, response.content[:500])
        counts[name] = len(ctx)
        return response

    for path in ("api", "page"):
        attempt, _ = course_services.start_quiz_attempt(user=learner, quiz=quiz)
        # Steady state: this quiz's answer keys were loaded by an earlier submit in this process.
        services._grading_keys(services.gradable_question_ids(attempt.layout))
        payload = selectors.attempt_for_learner(attempt)
        single = next(q for q in flat(payload["questions"]) if q["type"] == "single")
        choice = single["choices"][0]["id"]
        if path == "api":
            url = f"/api/v1/attempts/{attempt.pk}/answers/{single['id']}/"
            measure("api_save", lambda: api.put(url, {"choice_ids": [choice]}, format="json"), 200)
            measure("api_submit", lambda: api.post(f"/api/v1/attempts/{attempt.pk}/submit/"), 200)
        else:
            form = {"question": single["id"], f"q-{single['id']}": choice}
            measure(
                "page_autosave",
                lambda: browser.post(f"/attempts/{attempt.pk}/autosave/", form, HTTP_HX_REQUEST="true"),
                200,
            )
            measure("page_submit", lambda: browser.post(f"/attempts/{attempt.pk}/submit/"), 302)
            measure("result_page", lambda: browser.get(f"/attempts/{attempt.pk}/result/"), 200)
        assert Answer.objects.get(attempt=attempt, question_id=single["id"]).points is not None
    return counts


def flat(questions):
    return [item for q in questions for item in (q.get("parts") or [q])]


def test_hot_path_request_query_counts(tmp_path):
    counts = _hot_path_counts(tmp_path)
    assert counts == {
        "api_save": API_SAVE,
        "api_submit": API_SUBMIT,
        "page_autosave": PAGE_AUTOSAVE,
        "page_submit": PAGE_SUBMIT,
        "result_page": RESULT_PAGE,
    }
