"""Attempt lifecycle through the API and the services: resume, limits, cool-down, time, review, access."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from core.api import exception_handler
from quizzes import selectors, services
from quizzes.errors import AttemptNotFound, QuizLocked
from quizzes.models import Answer, Attempt, Choice, Question, QuizOverride
from tests.factories import UserFactory
from tests.quiz_content import ALL_QUESTIONS, EXPLAIN, SPECS_BY_KEY, correct_response, make_quiz
from tests.quiz_helpers import answer_all, flat_payloads, single_choice_bank, wrong_response

pytestmark = pytest.mark.django_db


# --- helpers -----------------------------------------------------------------------------------------


def start(client, quiz):
    return client.post(f"/api/v1/quizzes/{quiz.pk}/attempts/")


def put(client, attempt_id, question_id, body, **extra):
    return client.put(f"/api/v1/attempts/{attempt_id}/answers/{question_id}/", body, format="json", **extra)


def submit(client, attempt_id, **extra):
    return client.post(f"/api/v1/attempts/{attempt_id}/submit/", **extra)


def get(client, attempt_id):
    return client.get(f"/api/v1/attempts/{attempt_id}/")


def by_key(payload: dict) -> dict[str, dict]:
    keys = dict(Question.objects.values_list("pk", "key"))
    return {keys[p["id"]]: p for p in flat_payloads(payload)}


def put_answer(client, payload, key, *, correct=True, **extra):
    question = by_key(payload)[key]
    body = (correct_response if correct else wrong_response)(question, SPECS_BY_KEY[key])
    return put(client, payload["id"], question["id"], body, **extra)


def answer_everything(client, payload, *, wrong=()):
    for key in by_key(payload):
        response = put_answer(client, payload, key, correct=key not in wrong)
        assert response.status_code == 200, response.json()


def learner_client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def stored_answers(attempt_id):
    return sorted(
        Answer.objects.filter(attempt_id=attempt_id).values_list(
            "question_id", "response", "points", "saved_at"
        )
    )


@pytest.fixture
def supervisor(db):
    return UserFactory()


def grant(user, quiz, kind, supervisor, value=Decimal(1)):
    return services.grant_quiz_override(
        user=user, quiz=quiz, kind=kind, reason="Approved by supervisor", granted_by=supervisor, value=value
    )


# --- start and resume ---------------------------------------------------------------------------------


def test_resume_returns_the_same_frozen_questions_and_order(logged_in_api, user):
    quiz = make_quiz()
    first = start(logged_in_api, quiz)
    assert first.status_code == 201
    payload = first.json()
    put_answer(logged_in_api, payload, "t-order")

    # a content change after the start does not change what the open attempt shows
    changed = [dict(s, stem="Changed?") if s["key"] == "t-single" else s for s in ALL_QUESTIONS]
    services.import_bank(key="test-bank", title="Test bank", questions=changed)

    resumed = start(logged_in_api, quiz)
    assert resumed.status_code == 200
    again = resumed.json()
    assert again["id"] == payload["id"]

    def shape(p):
        return [
            (q["id"], [c["id"] for c in q.get("choices", q.get("items", q.get("left", [])))])
            for q in flat_payloads(p)
        ]

    assert shape(again) == shape(payload)
    assert [q["id"] for q in again["questions"]] == [q["id"] for q in payload["questions"]]
    assert "Changed?" not in resumed.content.decode()
    assert by_key(again)["t-order"]["response"] == correct_response(
        by_key(payload)["t-order"], SPECS_BY_KEY["t-order"]
    )
    assert Attempt.objects.filter(user=user, quiz=quiz).count() == 1
    attempt, created = services.start_attempt(user=user, quiz=quiz)
    assert (attempt.pk, created) == (payload["id"], False)


def test_questions_are_drawn_from_the_bank_and_shuffled_per_attempt(user):
    quiz = make_quiz(key="draw", bank_key="draw-bank", questions=single_choice_bank("d", 12))
    orders = set()
    for n in range(6):
        attempt, created = services.start_attempt(user=user, quiz=quiz)
        assert created and attempt.number == n + 1
        assert sorted(attempt.layout["order"]) == sorted(
            Question.objects.filter(key__startswith="d-").values_list("pk", flat=True)
        )
        orders.add(tuple(attempt.layout["order"]))
        services.submit_attempt(attempt_id=attempt.pk, user=user)
    assert len(orders) > 1


def test_start_of_a_missing_quiz_is_404(logged_in_api):
    assert logged_in_api.post("/api/v1/quizzes/987654/attempts/").status_code == 404


def test_a_course_lock_refuses_the_start_with_409(user):
    quiz = make_quiz()
    with pytest.raises(QuizLocked) as refused:
        services.start_attempt(user=user, quiz=quiz, lesson_lock="Read the lessons first.")
    response = exception_handler(refused.value, {})
    assert response.status_code == 409
    assert response.data == {
        "detail": "Read the lessons first.",
        "code": "locked",
        "state": "locked",
        "reason": "Read the lessons first.",
    }
    assert not Attempt.objects.exists()


# --- attempt limit and cool-down --------------------------------------------------------------------


def test_attempt_limit_and_extra_attempt_override(logged_in_api, user, supervisor):
    quiz = make_quiz(attempt_limit=1)
    first = start(logged_in_api, quiz).json()
    assert submit(logged_in_api, first["id"]).status_code == 200

    refused = start(logged_in_api, quiz)
    assert refused.status_code == 409
    assert refused.json()["code"] == "attempt_limit_reached"
    assert Attempt.objects.filter(user=user).count() == 1

    grant(user, quiz, QuizOverride.Kind.EXTRA_ATTEMPT, supervisor)
    second = start(logged_in_api, quiz)
    assert second.status_code == 201
    assert second.json()["number"] == 2
    submit(logged_in_api, second.json()["id"])
    assert start(logged_in_api, quiz).json()["code"] == "attempt_limit_reached"
    # an override for another learner does not help this one
    other = UserFactory()
    grant(other, quiz, QuizOverride.Kind.EXTRA_ATTEMPT, supervisor)
    assert start(logged_in_api, quiz).status_code == 409


def test_cooldown_refuses_with_retry_at_and_reset_override(logged_in_api, user, supervisor, clock):
    quiz = make_quiz(cooldown_minutes=30)
    first = start(logged_in_api, quiz).json()
    submitted_at = clock.advance(minutes=2)
    submit(logged_in_api, first["id"])

    early_reset = grant(user, quiz, QuizOverride.Kind.COOLDOWN_RESET, supervisor)
    early_reset.granted_at = submitted_at - timedelta(seconds=1)  # granted before the last submit
    early_reset.save(update_fields=["granted_at"])

    clock.advance(minutes=10)
    refused = start(logged_in_api, quiz)
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "cooling_down"
    assert datetime.fromisoformat(body["retry_at"]) == submitted_at + timedelta(minutes=30)

    clock.now = submitted_at + timedelta(minutes=30) - timedelta(seconds=1)
    assert start(logged_in_api, quiz).status_code == 409
    clock.now = submitted_at + timedelta(minutes=30)
    second = start(logged_in_api, quiz)
    assert second.status_code == 201

    clock.advance(minutes=1)
    submit(logged_in_api, second.json()["id"])
    clock.advance(minutes=1)
    assert start(logged_in_api, quiz).json()["code"] == "cooling_down"
    grant(user, quiz, QuizOverride.Kind.COOLDOWN_RESET, supervisor)
    third = start(logged_in_api, quiz)
    assert third.status_code == 201
    assert third.json()["number"] == 3


# --- time ---------------------------------------------------------------------------------------------


def test_time_limit_and_time_multiplier_override(logged_in_api, user, supervisor, clock):
    quiz = make_quiz(time_limit_minutes=10)
    t0 = clock.now
    plain = start(logged_in_api, quiz).json()
    assert parse_datetime(plain["deadline"]) == t0 + timedelta(minutes=10)
    assert plain["seconds_left"] == 600
    submit(logged_in_api, plain["id"])

    grant(user, quiz, QuizOverride.Kind.TIME_MULTIPLIER, supervisor, value=Decimal("1.50"))
    extended = start(logged_in_api, quiz).json()
    assert parse_datetime(extended["deadline"]) == t0 + timedelta(minutes=15)
    assert Attempt.objects.get(pk=extended["id"]).time_multiplier == Decimal("1.50")

    clock.advance(minutes=14)
    assert put_answer(logged_in_api, extended, "t-single").status_code == 200


def test_saves_within_grace_count_later_ones_are_refused_and_not_graded(logged_in_api, user, clock):
    quiz = make_quiz(time_limit_minutes=10)
    t0 = clock.now
    payload = start(logged_in_api, quiz).json()
    deadline = t0 + timedelta(minutes=10)

    clock.now = deadline - timedelta(minutes=5)
    assert put_answer(logged_in_api, payload, "t-single").status_code == 200
    clock.now = deadline + timedelta(seconds=10)  # last instant of the grace: still accepted
    assert put_answer(logged_in_api, payload, "t-num").status_code == 200
    clock.now = deadline + timedelta(seconds=10, microseconds=1)
    late = put_answer(logged_in_api, payload, "t-order")
    assert late.status_code == 409
    assert late.json()["code"] == "deadline_passed"

    attempt = Attempt.objects.get(pk=payload["id"])
    assert attempt.state == "submitted" and attempt.closed_by == "deadline"
    assert attempt.submitted_at == clock.now
    points = {a.question.key: a.points for a in attempt.answers.select_related("question")}
    assert points["t-single"] == 1 and points["t-num"] == 1
    assert points["t-order"] == 0
    assert attempt.answers.get(question__key="t-order").response == {}
    assert attempt.score == Decimal("20.00")

    again = put_answer(logged_in_api, payload, "t-order")
    assert again.status_code == 409
    assert again.json()["code"] == "attempt_closed"


def test_forged_client_timestamps_are_ignored(logged_in_api, user, clock):
    quiz = make_quiz(time_limit_minutes=10)
    payload = start(logged_in_api, quiz).json()
    early = (clock.now + timedelta(minutes=1)).isoformat()
    forged = {"HTTP_DATE": "Fri, 01 Mar 2030 09:01:00 GMT", "HTTP_X_CLIENT_TIME": early}

    clock.advance(minutes=3)
    assert put_answer(logged_in_api, payload, "t-single", **forged).status_code == 200
    saved = Answer.objects.get(attempt_id=payload["id"], question__key="t-single")
    assert saved.saved_at == clock.now  # the server's clock, not the client's

    # a timestamp inside the body is refused, never used
    question = by_key(payload)["t-num"]
    body = {"value": 48, "saved_at": early}
    refused = put(logged_in_api, payload["id"], question["id"], body)
    assert refused.status_code == 400
    assert "saved_at" in refused.json()["errors"]

    clock.advance(minutes=20)
    late = logged_in_api.put(
        f"/api/v1/attempts/{payload['id']}/answers/{question['id']}/?saved_at={early}&now={early}",
        {"value": 48},
        format="json",
        **forged,
    )
    assert late.status_code == 409
    result = submit(logged_in_api, payload["id"], data={"submitted_at": early}, **forged).json()
    assert result["closed_by"] == "deadline"
    attempt = Attempt.objects.get(pk=payload["id"])
    assert attempt.submitted_at == clock.now
    assert attempt.answers.get(question__key="t-num").points == 0


def expire_overdue() -> int:
    """The sweep as the course layer runs it (courses.enrollment.services.expire_overdue_attempts)."""
    return sum(services.expire_attempt(attempt_id=pk) is not None for pk in services.overdue_attempt_ids())


def test_expire_attempts_grades_only_overdue_attempts(user, clock):
    quiz = make_quiz(time_limit_minutes=10)
    overdue, _ = services.start_attempt(user=user, quiz=quiz)
    answer_all(overdue, user)
    clock.advance(minutes=5)
    other = UserFactory()
    fresh, _ = services.start_attempt(user=other, quiz=quiz)
    untimed_quiz = make_quiz(key="untimed")
    untimed, _ = services.start_attempt(user=user, quiz=untimed_quiz)

    clock.now = overdue.deadline + timedelta(seconds=10)
    assert expire_overdue() == 0  # inside the grace
    clock.advance(seconds=1)
    assert expire_overdue() == 1
    assert expire_overdue() == 0  # idempotent

    overdue.refresh_from_db()
    assert (overdue.state, overdue.closed_by, overdue.score) == ("submitted", "deadline", Decimal("100.00"))
    assert overdue.submitted_at == clock.now
    for attempt in (fresh, untimed):
        attempt.refresh_from_db()
        assert attempt.state == "in_progress" and attempt.score is None


def test_get_on_an_expired_attempt_grades_it(logged_in_api, user, clock):
    quiz = make_quiz(time_limit_minutes=10)
    payload = start(logged_in_api, quiz).json()
    put_answer(logged_in_api, payload, "t-single")
    clock.advance(minutes=10, seconds=5)
    assert get(logged_in_api, payload["id"]).json()["state"] == "in_progress"
    clock.advance(seconds=6)
    body = get(logged_in_api, payload["id"]).json()
    assert body["state"] == "submitted"
    assert body["closed_by"] == "deadline"
    assert body["score"] == "10.00"
    assert Attempt.objects.get(pk=payload["id"]).state == "submitted"


def test_starting_again_after_the_deadline_grades_the_old_attempt_and_starts_a_new_one(user, clock):
    quiz = make_quiz(time_limit_minutes=10)
    first, _ = services.start_attempt(user=user, quiz=quiz)
    clock.advance(minutes=11)
    second, created = services.start_attempt(user=user, quiz=quiz)
    assert created and second.number == 2
    first.refresh_from_db()
    assert (first.state, first.closed_by) == ("submitted", "deadline")


# --- grading policy and review ------------------------------------------------------------------------

FOUR = single_choice_bank("p", 4)
FOUR_SPECS = {s["key"]: s for s in FOUR}


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("highest", "100.00"), ("last", "25.00"), ("first", "50.00"), ("average", "58.33")],
)
def test_grading_policy_via_quiz_standing(user, policy, expected):
    quiz = make_quiz(key=f"q-{policy}", bank_key="four", questions=FOUR, grading_policy=policy)
    for wrong in ({"p-0", "p-1"}, set(), {"p-0", "p-1", "p-2"}):
        attempt, _ = services.start_attempt(user=user, quiz=quiz)
        answer_all(attempt, user, wrong=frozenset(wrong), specs=FOUR_SPECS)
        services.submit_attempt(attempt_id=attempt.pk, user=user)
    open_attempt, _ = services.start_attempt(user=user, quiz=quiz)

    standing = selectors.quiz_standing(user=user, quiz=quiz)
    assert standing.policy_score == Decimal(expected)
    assert standing.best_score == Decimal("100.00")
    assert standing.passed is True  # one passing attempt is enough, whatever the policy shows
    assert standing.attempts_used == 3
    assert standing.open_attempt_id == open_attempt.pk
    assert [
        a.score for a in Attempt.objects.filter(user=user, quiz=quiz, state="submitted").order_by("number")
    ] == [
        Decimal("50.00"),
        Decimal("100.00"),
        Decimal("25.00"),
    ]


def test_standing_without_a_pass(user):
    quiz = make_quiz(key="q-fail", bank_key="four", questions=FOUR)
    attempt, _ = services.start_attempt(user=user, quiz=quiz)
    answer_all(attempt, user, wrong=frozenset({"p-0"}), specs=FOUR_SPECS)
    services.submit_attempt(attempt_id=attempt.pk, user=user)
    standing = selectors.quiz_standing(user=user, quiz=quiz)
    assert (standing.passed, standing.policy_score, standing.attempts_used) == (False, Decimal("75.00"), 1)
    assert selectors.quiz_standing(user=UserFactory(), quiz=quiz).policy_score is None


SUBMIT_KEYS = {
    "id",
    "quiz",
    "number",
    "state",
    "started_at",
    "deadline",
    "submitted_at",
    "closed_by",
    "passed",
    "critical_missed_objectives",
    "graded_now",
}
TOP_KEYS = {
    "id",
    "quiz",
    "number",
    "state",
    "started_at",
    "deadline",
    "server_now",
    "seconds_left",
    "questions",
    "answered",
    "total_items",
    "submitted_at",
    "closed_by",
    "passed",
    "critical_missed_objectives",
}
BASE_QUESTION_KEYS = {
    "id",
    "type",
    "stem",
    "stem_html",
    "response",
    "answered",
}  # answered: the one rule, grading.is_answered
TYPE_KEYS = {
    "single": {"choices", "multiple"},
    "multiple": {"choices", "multiple"},
    "true_false": {"choices", "multiple"},
    "ordering": {"items"},
    "matching": {"left", "right"},
    "numeric": {"unit"},
}
FULL_REVIEW = {
    "points",
    "is_correct",
    "explanation",
    "explanation_html",
    "source",
    "reason",
    "correct_answer",
}


@pytest.mark.parametrize("policy", ["none", "score", "wrong", "full"])
def test_review_policy_decides_exactly_which_keys_appear(logged_in_api, policy):
    quiz = make_quiz(review_policy=policy)
    payload = start(logged_in_api, quiz).json()
    answer_everything(logged_in_api, payload, wrong=("t-single",))
    submitted = submit(logged_in_api, payload["id"])
    # the submit answers with the grade only (no questions, no review): the GET below carries those
    assert set(submitted.json()) == SUBMIT_KEYS | ({"score"} if policy != "none" else set())
    response = get(logged_in_api, payload["id"])
    body = response.json()
    assert body["passed"] is True and body["critical_missed_objectives"] == []
    assert set(body) == TOP_KEYS | ({"score"} if policy != "none" else set())
    if policy != "none":
        assert body["score"] == "90.00"
    scenario = next(q for q in body["questions"] if q["type"] == "scenario")
    assert set(scenario) == {"id", "type", "stem", "stem_html", "parts"}
    text = response.content.decode()
    keyed = by_key(body)
    for question in flat_payloads(body):
        expected = BASE_QUESTION_KEYS | TYPE_KEYS[question["type"]]
        if policy in ("none", "score"):
            assert set(question) == expected
            continue
        assert set(question) == expected | {"review"}
        review = question["review"]
        is_wrong = question is keyed["t-single"]
        assert review["is_correct"] is (not is_wrong)
        assert review["points"] == ("0.0000" if is_wrong else "1.0000")
        if policy == "wrong":
            assert set(review) == {"points", "is_correct"}
        else:
            has_feedback = question["type"] in ("single", "multiple", "true_false")
            assert set(review) == FULL_REVIEW | ({"feedback"} if has_feedback else set())
    if policy == "full":
        single = by_key(body)["t-single"]
        assert single["review"]["correct_answer"] == correct_response(single, SPECS_BY_KEY["t-single"])
        assert "SECRET-FEEDBACK-single" in single["review"]["feedback"].values()
        assert EXPLAIN in text
    else:
        assert EXPLAIN not in text and "SECRET-FEEDBACK" not in text and "correct_answer" not in text


def test_failed_attempt_names_the_critical_objective_without_revealing_the_key(logged_in_api):
    quiz = make_quiz(review_policy="none")
    payload = start(logged_in_api, quiz).json()
    answer_everything(logged_in_api, payload, wrong=("t-tf",))  # critical, objective T-2
    result = submit(logged_in_api, payload["id"]).json()
    assert result["passed"] is False
    assert result["critical_missed_objectives"] == ["T-2"]
    assert "score" not in result
    attempt = Attempt.objects.get(pk=payload["id"])
    assert attempt.score == Decimal("90.00")  # passed the mark, failed on the critical question
    body = get(logged_in_api, payload["id"])
    text = body.content.decode()
    assert body.json()["critical_missed_objectives"] == ["T-2"]
    for forbidden in ('"review"', "correct", "explanation", "feedback", '"points":', EXPLAIN, "90.00"):
        assert forbidden not in text
    tf = by_key(body.json())["t-tf"]
    assert tf["response"] == wrong_response(tf, SPECS_BY_KEY["t-tf"])  # only what the learner said


# --- access -------------------------------------------------------------------------------------------


def test_another_learners_attempt_is_404_exactly_like_a_missing_one(logged_in_api, user):
    quiz = make_quiz()
    owner = UserFactory()
    owner_client = learner_client(owner)
    theirs = start(owner_client, quiz).json()
    put_answer(owner_client, theirs, "t-single")
    before = stored_answers(theirs["id"])
    missing = Attempt.objects.order_by("-pk").first().pk + 1000
    question = by_key(theirs)["t-num"]

    calls = {
        "get": lambda aid: get(logged_in_api, aid),
        "put": lambda aid: put(logged_in_api, aid, question["id"], {"value": 48}),
        "submit": lambda aid: submit(logged_in_api, aid),
    }
    for name, call in calls.items():
        forbidden, absent = call(theirs["id"]), call(missing)
        assert forbidden.status_code == absent.status_code == 404, name
        assert forbidden.json() == absent.json() == {"detail": "No such attempt.", "code": "not_found"}, name
        assert forbidden.content == absent.content
    assert stored_answers(theirs["id"]) == before
    assert Attempt.objects.get(pk=theirs["id"]).state == "in_progress"
    with pytest.raises(AttemptNotFound):
        services.submit_attempt(attempt_id=theirs["id"], user=user)
    with pytest.raises(AttemptNotFound):
        services.save_answer(
            attempt_id=theirs["id"], user=user, question_id=question["id"], response={"value": 1}
        )


def test_unauthenticated_requests_are_refused(user):
    quiz = make_quiz()
    attempt, _ = services.start_attempt(user=user, quiz=quiz)
    qid = attempt.layout["order"][0]
    anonymous = APIClient()
    responses = [
        start(anonymous, quiz),
        get(anonymous, attempt.pk),
        put(anonymous, attempt.pk, qid, {"choice_ids": []}),
        submit(anonymous, attempt.pk),
    ]
    for response in responses:
        assert response.status_code in (401, 403)
        assert "questions" not in response.json()
    assert Attempt.objects.count() == 1
    assert not Answer.objects.exists()
    attempt.refresh_from_db()
    assert attempt.state == "in_progress"


# --- bad input ----------------------------------------------------------------------------------------


@pytest.fixture
def two_attempts(logged_in_api):
    """The learner's attempt with one valid answer on every item, and another learner's attempt."""
    quiz = make_quiz()
    mine = start(logged_in_api, quiz).json()
    answer_everything(logged_in_api, mine)
    theirs = start(learner_client(UserFactory()), quiz).json()
    make_quiz(key="other", bank_key="other-bank", questions=single_choice_bank("o", 3))
    outside = Question.objects.filter(bank__key="other-bank").first().pk
    return mine, theirs, outside


def _bad_cases(mine, theirs, outside):
    m, t = by_key(mine), by_key(theirs)
    single = m["t-single"]
    multi = m["t-multi-partial"]
    scenario = next(q["id"] for q in mine["questions"] if q["type"] == "scenario")
    db_choice = Choice.objects.filter(question_id=single["id"]).first().pk
    return {
        "question from another quiz": (outside, {"choice_ids": []}, "question"),
        "question id not a number": ("abc", {"choice_ids": []}, "question"),
        "question id unknown": (10**12, {"choice_ids": []}, "question"),
        "choice from another question": (
            single["id"],
            {"choice_ids": [multi["choices"][0]["id"]]},
            "choice_ids",
        ),
        "choice from another attempt": (
            single["id"],
            {"choice_ids": [t["t-single"]["choices"][0]["id"]]},
            "choice_ids",
        ),
        "database choice id": (single["id"], {"choice_ids": [str(db_choice)]}, "choice_ids"),
        "database choice id as number": (single["id"], {"choice_ids": [db_choice]}, "choice_ids"),
        "string instead of list": (single["id"], {"choice_ids": single["choices"][0]["id"]}, "choice_ids"),
        "two picks on single choice": (
            single["id"],
            {"choice_ids": [c["id"] for c in single["choices"][:2]]},
            "choice_ids",
        ),
        "two picks on true/false": (
            m["t-tf"]["id"],
            {"choice_ids": [c["id"] for c in m["t-tf"]["choices"]]},
            "choice_ids",
        ),
        "same id twice": (multi["id"], {"choice_ids": [multi["choices"][0]["id"]] * 2}, "choice_ids"),
        "wrong field for the type": (m["t-order"]["id"], {"choice_ids": []}, "choice_ids"),
        "ordering as dict": (m["t-order"]["id"], {"order": {"a": 1}}, "order"),
        "list instead of dict": (
            m["t-match"]["id"],
            {"pairs": [[i["id"], i["id"]] for i in m["t-match"]["left"]]},
            "pairs",
        ),
        "matching right id from left": (
            m["t-match"]["id"],
            {"pairs": {m["t-match"]["left"][0]["id"]: m["t-match"]["left"][1]["id"]}},
            "pairs",
        ),
        "matching value not a string": (
            m["t-match"]["id"],
            {"pairs": {m["t-match"]["left"][0]["id"]: 3}},
            "pairs",
        ),
        "bool for numeric": (m["t-num"]["id"], {"value": True}, "value"),
        "list for numeric": (m["t-num"]["id"], {"value": [48]}, "value"),
        "text for numeric": (m["t-num"]["id"], {"value": "forty-eight"}, "value"),
        "NaN for numeric": (m["t-num"]["id"], {"value": "NaN"}, "value"),
        "scenario answered directly": (scenario, {"choice_ids": []}, "response"),
        "list as the body": (single["id"], [single["choices"][0]["id"]], "response"),
        "string as the body": (single["id"], "hello", "response"),
    }


def test_bad_input_is_400_with_field_errors_and_writes_nothing(logged_in_api, two_attempts):
    mine, theirs, outside = two_attempts
    before = stored_answers(mine["id"])
    theirs_before = stored_answers(theirs["id"])
    failures = []
    for name, (question_id, body, field) in _bad_cases(mine, theirs, outside).items():
        response = put(logged_in_api, mine["id"], question_id, body)
        data = response.json()
        if (
            response.status_code != 400
            or data.get("code") != "invalid_answer"
            or field not in data.get("errors", {})
        ):
            failures.append((name, response.status_code, data))
    assert failures == []
    assert stored_answers(mine["id"]) == before
    assert stored_answers(theirs["id"]) == theirs_before
    assert Attempt.objects.get(pk=mine["id"]).state == "in_progress"


@pytest.mark.parametrize("raw", ["{bad json", '{"choice_ids": [', "\x00", '{"choice_ids": NaN}', "[1, 2,]"])
def test_malformed_json_is_400_with_field_errors_and_writes_nothing(logged_in_api, two_attempts, raw):
    mine, _, _ = two_attempts
    before = stored_answers(mine["id"])
    qid = by_key(mine)["t-single"]["id"]
    response = logged_in_api.generic(
        "PUT", f"/api/v1/attempts/{mine['id']}/answers/{qid}/", raw, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["errors"]
    assert stored_answers(mine["id"]) == before


def test_huge_numeric_answers_are_graded_not_crashing(logged_in_api):
    quiz = make_quiz()
    payload = start(logged_in_api, quiz).json()
    num = by_key(payload)["t-num"]
    assert put(logged_in_api, payload["id"], num["id"], {"value": "1e999999999"}).status_code == 200
    result = submit(logged_in_api, payload["id"])
    assert result.status_code == 200
    assert Answer.objects.get(attempt_id=payload["id"], question_id=num["id"]).points == 0


def test_autosave_is_idempotent_and_the_later_save_wins(logged_in_api):
    quiz = make_quiz()
    payload = start(logged_in_api, quiz).json()
    single = by_key(payload)["t-single"]
    for _ in range(2):
        assert put_answer(logged_in_api, payload, "t-single", correct=False).status_code == 200
    assert Answer.objects.filter(attempt_id=payload["id"]).count() == 1
    assert put_answer(logged_in_api, payload, "t-single").status_code == 200
    shown = by_key(get(logged_in_api, payload["id"]).json())["t-single"]["response"]
    assert shown == correct_response(single, SPECS_BY_KEY["t-single"])
    # partial and empty answers are accepted by autosave
    assert (
        put(logged_in_api, payload["id"], by_key(payload)["t-match"]["id"], {"pairs": {}}).status_code == 200
    )
    assert (
        put(logged_in_api, payload["id"], by_key(payload)["t-num"]["id"], {"value": None}).status_code == 200
    )
    assert Answer.objects.filter(attempt_id=payload["id"]).count() == 3


def test_a_save_after_submit_is_409_and_changes_nothing(logged_in_api):
    quiz = make_quiz()
    payload = start(logged_in_api, quiz).json()
    put_answer(logged_in_api, payload, "t-single", correct=False)
    submit(logged_in_api, payload["id"])
    before = stored_answers(payload["id"])
    response = put_answer(logged_in_api, payload, "t-single")
    assert response.status_code == 409
    assert response.json()["code"] == "attempt_closed"
    assert stored_answers(payload["id"]) == before
