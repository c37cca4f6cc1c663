"""Exact query counts for the attempt lifecycle, the same for a quiz of 5 and of 20 questions.

Counts include the SAVEPOINT / RELEASE pair of each service's `transaction.atomic` (the test runs inside
a transaction). Course-level access checks are switched off: these are the quiz engine's own queries.
"""

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from quizzes import selectors, services
from tests.factories import UserFactory
from tests.quiz_content import correct_response, make_quiz
from tests.quiz_helpers import mixed_bank, payloads_by_key

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_course_checks")]

SIZES = [5, 20]

# savepoint, lock user, open attempt, overrides, submitted attempts, draw rules, candidates,
# scenario parts, choices, next number, insert, release
START_NEW = 12
START_RESUME = 4  # savepoint, lock user, open attempt, release
SAVE = 4  # savepoint, lock attempt, upsert answer, release
# savepoint, lock attempt, questions, choices, answers, insert missing answers, update answered, update
# attempt, release
SUBMIT = 9
ATTEMPT_FOR_LEARNER = 3  # questions, their choices, answers


@pytest.fixture
def no_course_checks():
    with override_settings(QUIZ_ACCESS_CHECKS=[], QUIZ_ATTEMPT_WINDOW=""):
        yield


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
    with django_assert_num_queries(SUBMIT):
        outcome = services.submit_attempt(attempt_id=attempt.pk, user=user)
    assert outcome.graded_now and outcome.attempt.max_points == n
    assert outcome.attempt.answers.count() == n
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
    small, large = _api_counts(5), _api_counts(20)
    assert small == large
