"""Nothing before submit reveals the key: no correctness, feedback or explanation, no database choice id,
and no order or id from which an ordering or matching key could be read."""

import json

import pytest

from quizzes import selectors, services
from quizzes.models import Choice, Question
from tests.factories import UserFactory
from tests.quiz_content import correct_response, make_quiz, q
from tests.quiz_helpers import flat_payloads

pytestmark = pytest.mark.django_db

FORBIDDEN_KEYS = ("correct", "is_correct", "correct_answer", "explanation", "feedback")
SECRET = "SECRET"  # every explanation and feedback text below contains it; nothing else does


def secret_q(key, qtype, **extra):
    spec = q(key, qtype, **extra)
    spec["explanation"] = f"{SECRET} explanation of {key}"
    return spec


def choices(key):
    return [
        {"text": "Alpha", "correct": True, "feedback": f"{SECRET} fb alpha {key}"},
        {"text": "Beta", "correct": False, "feedback": f"{SECRET} fb beta {key}"},
        {"text": "Gamma", "correct": False, "feedback": f"{SECRET} fb gamma {key}"},
    ]


ORDER_ITEMS = ["First step", "Second step", "Third step", "Fourth step", "Fifth step"]
PAIRS = [{"left": f"Left {i}", "right": f"Right {i}"} for i in range(1, 6)]

LEAK_BANK = {
    "single": secret_q("l-single", "single", choices=choices("single")),
    "multiple": secret_q(
        "l-multiple",
        "multiple",
        scoring="partial",
        choices=choices("multiple") + [{"text": "Delta", "correct": True, "feedback": f"{SECRET} fb delta"}],
    ),
    "true_false": secret_q(
        "l-tf", "true_false", answer=True, feedback_true=f"{SECRET} yes", feedback_false=f"{SECRET} no"
    ),
    "ordering": secret_q("l-order", "ordering", items=ORDER_ITEMS),
    "matching": secret_q("l-match", "matching", pairs=PAIRS, extra_right=["Right decoy"]),
    "numeric": secret_q("l-num", "numeric", answer={"value": 12.5, "tolerance": 0.5}, unit="mg"),
    "scenario": secret_q(
        "l-scenario",
        "scenario",
        parts=[
            secret_q("l-scenario-a", "single", choices=choices("part")),
            secret_q("l-scenario-b", "true_false", answer=False, feedback_true=f"{SECRET} part yes"),
            secret_q("l-scenario-c", "ordering", items=ORDER_ITEMS[:3]),
        ],
    ),
}
SPECS = {spec["key"]: spec for spec in LEAK_BANK.values()} | {
    p["key"]: p for p in LEAK_BANK["scenario"]["parts"]
}


def all_keys(value):
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from all_keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from all_keys(v)


def option_ids(payload: dict) -> list:
    ids = []
    for question in flat_payloads(payload):
        for field in ("choices", "items", "left", "right"):
            ids += [option["id"] for option in question.get(field, [])]
    return ids


def assert_reveals_nothing(response):
    text = response.content.decode()
    body = json.loads(text)
    keys = set(all_keys(body))
    assert not keys & set(FORBIDDEN_KEYS), keys & set(FORBIDDEN_KEYS)
    assert not [k for k in keys if any(word in k.lower() for word in ("correct", "explanation", "feedback"))]
    lowered = text.lower()
    for word in ("correct", "explanation", "feedback", SECRET.lower(), '"review"', '"score"', '"points"'):
        assert word not in lowered, word
    choice_pks = {str(pk) for pk in Choice.objects.values_list("pk", flat=True)}
    for option_id in option_ids(body) if "questions" in body else []:
        assert isinstance(option_id, str) and option_id not in choice_pks
    return body


@pytest.mark.parametrize("qtype", list(LEAK_BANK))
def test_start_save_and_get_before_submit_reveal_nothing(logged_in_api, qtype):
    spec = LEAK_BANK[qtype]
    quiz = make_quiz(key=f"leak-{qtype}", bank_key=f"leak-{qtype}", questions=[spec])
    started = logged_in_api.post(f"/api/v1/quizzes/{quiz.pk}/attempts/")
    assert started.status_code == 201
    payload = assert_reveals_nothing(started)
    assert option_ids(payload) or qtype == "numeric"

    keys = dict(Question.objects.values_list("pk", "key"))
    for question in flat_payloads(payload):
        body = correct_response(question, SPECS[keys[question["id"]]])  # the most telling save there is
        saved = logged_in_api.put(
            f"/api/v1/attempts/{payload['id']}/answers/{question['id']}/", body, format="json"
        )
        assert saved.status_code == 200
        assert set(assert_reveals_nothing(saved)) == {"question_id", "saved_at"}

    shown = logged_in_api.get(f"/api/v1/attempts/{payload['id']}/")
    assert shown.status_code == 200
    assert_reveals_nothing(shown)
    resumed = logged_in_api.post(f"/api/v1/quizzes/{quiz.pk}/attempts/")
    assert resumed.status_code == 200
    assert_reveals_nothing(resumed)


ATTEMPTS = 12


@pytest.fixture
def many_attempts():
    """The same ordering and matching questions, shown in ATTEMPTS attempts of different learners, with
    shuffling of questions and choices switched off (ordering and matching must shuffle regardless)."""
    quiz = make_quiz(
        key="leak-order",
        bank_key="leak-order",
        questions=[LEAK_BANK["ordering"], LEAK_BANK["matching"], LEAK_BANK["single"]],
        shuffle_questions=False,
        shuffle_choices=False,
    )
    keys = dict(Question.objects.values_list("pk", "key"))
    shown = []
    for _ in range(ATTEMPTS):
        attempt, _ = services.start_attempt(user=UserFactory(), quiz=quiz)
        shown.append({keys[p["id"]]: p for p in flat_payloads(selectors.attempt_for_learner(attempt))})
    return shown


def test_ordering_items_are_not_shown_in_key_order(many_attempts):
    orders = [tuple(i["text"] for i in shown["l-order"]["items"]) for shown in many_attempts]
    assert any(order != tuple(ORDER_ITEMS) for order in orders)
    assert len(set(orders)) > 1  # not one fixed permutation either
    # nor can the key be read from the ids: sorting the opaque ids does not give the key order every time
    by_id = [
        tuple(i["text"] for i in sorted(shown["l-order"]["items"], key=lambda i: i["id"]))
        for shown in many_attempts
    ]
    assert any(order != tuple(ORDER_ITEMS) for order in by_id)
    assert len(set(by_id)) > 1


def test_matching_sides_are_not_shown_in_key_order(many_attempts):
    lefts = [tuple(i["text"] for i in shown["l-match"]["left"]) for shown in many_attempts]
    key_lefts = tuple(p["left"] for p in PAIRS)
    assert any(order != key_lefts for order in lefts)
    assert len(set(lefts)) > 1
    match = {p["left"]: p["right"] for p in PAIRS}

    def aligned(shown):  # would the n-th right item be the match of the n-th left item?
        left = [i["text"] for i in shown["l-match"]["left"]]
        right = [i["text"] for i in shown["l-match"]["right"]]
        return all(match[text] == right[n] for n, text in enumerate(left))

    assert not all(aligned(shown) for shown in many_attempts)
    rights = [tuple(i["text"] for i in shown["l-match"]["right"]) for shown in many_attempts]
    assert len(set(rights)) > 1
    for shown in many_attempts:
        assert sorted(i["text"] for i in shown["l-match"]["right"]) == sorted(
            [*match.values(), "Right decoy"]
        )


def test_opaque_ids_differ_between_attempts_for_the_same_choice(many_attempts):
    ids_by_text: dict[tuple[str, str, str], list[str]] = {}
    for shown in many_attempts:
        for key, question in shown.items():
            for field in ("choices", "items", "left", "right"):
                for option in question.get(field, []):
                    ids_by_text.setdefault((key, field, option["text"]), []).append(option["id"])
    assert len(ids_by_text) == 3 + 5 + 5 + 6
    for where, ids in ids_by_text.items():
        assert len(ids) == ATTEMPTS
        assert len(set(ids)) == ATTEMPTS, where
    # and within one attempt, a matching left and its right never share an id
    for shown in many_attempts:
        left = {i["id"] for i in shown["l-match"]["left"]}
        right = {i["id"] for i in shown["l-match"]["right"]}
        assert not left & right


def assert_reveals_no_key(response) -> dict:
    """After submit a certifying quiz may show the score and objectives, never keys or per-item marks."""
    text = response.content.decode()
    body = json.loads(text)
    keys = set(all_keys(body))
    assert not keys & (set(FORBIDDEN_KEYS) | {"review", "points", "reason"}), keys
    lowered = text.lower()
    for word in ("correct", "explanation", "feedback", SECRET.lower(), '"review"', '"points"'):
        assert word not in lowered, word
    return body


@pytest.mark.parametrize("qtype", list(LEAK_BANK))
def test_certifying_review_after_submit_reveals_no_key(logged_in_api, qtype):
    spec = LEAK_BANK[qtype]
    quiz = make_quiz(key=f"exam-{qtype}", bank_key=f"exam-{qtype}", questions=[spec], certifying=True)
    started = logged_in_api.post(f"/api/v1/quizzes/{quiz.pk}/attempts/")
    payload = assert_reveals_nothing(started)
    keys = dict(Question.objects.values_list("pk", "key"))
    for i, question in enumerate(flat_payloads(payload)):
        if i == 0:  # the first item right, the rest unanswered: per-item marks would differ
            body = correct_response(question, SPECS[keys[question["id"]]])
            logged_in_api.put(
                f"/api/v1/attempts/{payload['id']}/answers/{question['id']}/", body, format="json"
            )
    submitted = logged_in_api.post(f"/api/v1/attempts/{payload['id']}/submit/")
    for response in (submitted, logged_in_api.get(f"/api/v1/attempts/{payload['id']}/")):
        assert response.status_code == 200
        body = assert_reveals_no_key(response)
        assert body["score"] == ("100.00" if qtype != "scenario" else "33.33")
        assert body["objectives_to_revisit"] == ([] if qtype != "scenario" else ["T-1"])
