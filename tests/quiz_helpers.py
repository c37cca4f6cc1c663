"""Shared helpers for the quiz engine tests: answer bodies in opaque ids, built from learner payloads."""

from quizzes import selectors, services
from quizzes.models import Question
from tests.quiz_content import SPECS_BY_KEY, correct_response, q


def flat_payloads(payload: dict) -> list[dict]:
    """Every answerable question payload of an attempt payload (scenario parts, never the scenario)."""
    out = []
    for question in payload["questions"]:
        out += question.get("parts") or [question]
    return out


def payloads_by_key(attempt) -> dict[str, dict]:
    keys = dict(Question.objects.values_list("pk", "key"))
    return {keys[p["id"]]: p for p in flat_payloads(selectors.attempt_for_learner(attempt))}


def wrong_response(payload: dict, spec: dict) -> dict:
    """A well-formed but wrong answer (zero points) for any answerable type."""
    qtype = spec["type"]
    if qtype in ("single", "multiple"):
        wrong = {c["text"] for c in spec["choices"] if not c["correct"]}
        return {"choice_ids": [c["id"] for c in payload["choices"] if c["text"] in wrong][:1]}
    if qtype == "true_false":
        label = "False" if spec["answer"] else "True"
        return {"choice_ids": [c["id"] for c in payload["choices"] if c["text"] == label]}
    if qtype == "ordering":
        return {"order": list(reversed(correct_response(payload, spec)["order"]))}
    if qtype == "matching":
        right = correct_response(payload, spec)["pairs"]
        lefts, rights = list(right), list(right.values())
        return {"pairs": dict(zip(lefts, rights[1:] + rights[:1], strict=True))}
    if qtype == "numeric":
        return {"value": -999999}
    raise ValueError(qtype)


def answer(attempt, user, key: str, *, correct: bool = True, now=None, specs=None):
    specs = specs or SPECS_BY_KEY
    payload = payloads_by_key(attempt)[key]
    body = (correct_response if correct else wrong_response)(payload, specs[key])
    return services.save_answer(
        attempt_id=attempt.pk, user=user, question_id=payload["id"], response=body, now=now
    )


def answer_all(attempt, user, *, wrong: frozenset[str] = frozenset(), now=None, specs=None) -> None:
    """Answer every item of the attempt, correctly except for the keys in `wrong`."""
    specs = specs or SPECS_BY_KEY
    keys = dict(Question.objects.values_list("pk", "key"))
    for payload in flat_payloads(selectors.attempt_for_learner(attempt)):
        key = keys[payload["id"]]
        body = (wrong_response if key in wrong else correct_response)(payload, specs[key])
        services.save_answer(
            attempt_id=attempt.pk, user=user, question_id=payload["id"], response=body, now=now
        )


def single_choice_bank(prefix: str, count: int, **extra) -> list[dict]:
    """`count` plain single-choice questions (first choice correct)."""
    return [
        q(
            f"{prefix}-{i}",
            "single",
            choices=[
                {"text": "Right", "correct": True},
                {"text": "Wrong one", "correct": False},
                {"text": "Wrong two", "correct": False},
            ],
            **extra,
        )
        for i in range(count)
    ]


def mixed_bank(prefix: str, count: int) -> list[dict]:
    """`count` questions cycling through the six plain types (scenarios excluded so items = count)."""
    makers = [
        lambda k: q(
            k,
            "single",
            choices=[
                {"text": "Yes", "correct": True, "feedback": f"fb {k}"},
                {"text": "No", "correct": False},
                {"text": "Maybe", "correct": False},
            ],
        ),
        lambda k: q(
            k,
            "multiple",
            scoring="partial",
            choices=[
                {"text": "A", "correct": True},
                {"text": "B", "correct": True},
                {"text": "C", "correct": False},
            ],
        ),
        lambda k: q(k, "true_false", answer=True),
        lambda k: q(k, "ordering", items=["one", "two", "three", "four"]),
        lambda k: q(
            k,
            "matching",
            pairs=[
                {"left": "L1", "right": "R1"},
                {"left": "L2", "right": "R2"},
                {"left": "L3", "right": "R3"},
            ],
        ),
        lambda k: q(k, "numeric", answer={"value": 10, "tolerance": 1}),
    ]
    return [makers[i % len(makers)](f"{prefix}-{i}") for i in range(count)]


def form_fields(item: dict, body: dict) -> dict:
    """The form fields (frontend/forms.py names) that carry an API-shaped answer body."""
    prefix = f"q-{item['id']}"
    if "choice_ids" in body:
        form = {prefix: body["choice_ids"]}
        if item["type"] == "multiple":
            form[f"{prefix}-present"] = "1"
        return form
    if "order" in body:
        return {f"{prefix}-pos-{token}": str(i + 1) for i, token in enumerate(body["order"])}
    if "pairs" in body:
        return {f"{prefix}-match-{left}": right for left, right in body["pairs"].items()}
    return {prefix: str(body["value"])}
