"""A small question bank covering all seven question types, for engine tests."""

from quizzes import services

EXPLAIN = "Because the brief says so. The tempting distractor is wrong for a stated reason."


def q(key, qtype, *, objective="T-1", critical=False, **extra):
    return {
        "key": key,
        "type": qtype,
        "objective": objective,
        "difficulty": 2,
        "critical": critical,
        "source": "[TEST]",
        "stem": f"Stem of {key}?",
        "explanation": f"Explanation for {key}. {EXPLAIN}",
        **extra,
    }


SINGLE = q(
    "t-single",
    "single",
    choices=[
        {"text": "Depressant", "correct": True, "feedback": "SECRET-FEEDBACK-single"},
        {"text": "Stimulant", "correct": False},
        {"text": "Opioid", "correct": False},
    ],
)
MULTIPLE_PARTIAL = q(
    "t-multi-partial",
    "multiple",
    scoring="partial",
    choices=[
        {"text": "Alcohol", "correct": True},
        {"text": "Diazepam", "correct": True},
        {"text": "Cocaine", "correct": False},
        {"text": "Caffeine", "correct": False},
    ],
)
MULTIPLE_ALL = q(
    "t-multi-all",
    "multiple",
    scoring="all_or_nothing",
    choices=[{"text": "A", "correct": True}, {"text": "B", "correct": True}, {"text": "C", "correct": False}],
)
TRUE_FALSE = q("t-tf", "true_false", answer=False, critical=True, objective="T-2")
ORDERING = q(
    "t-order", "ordering", items=["Check response", "Call 911", "Give naloxone", "Recovery position"]
)
MATCHING = q(
    "t-match",
    "matching",
    pairs=[
        {"left": "Heroin", "right": "Opioid"},
        {"left": "Cocaine", "right": "Stimulant"},
        {"left": "Alcohol", "right": "Depressant"},
    ],
    extra_right=["Hallucinogen"],
)
NUMERIC = q("t-num", "numeric", answer={"value": 48, "tolerance": 0}, unit="points")
NUMERIC_RANGE = q("t-num-range", "numeric", answer={"min": 30, "max": 90}, unit="minutes")
SCENARIO = q(
    "t-scenario",
    "scenario",
    objective="T-2",
    parts=[
        q(
            "t-scenario-a",
            "single",
            objective="T-2",
            critical=True,
            choices=[
                {"text": "Call for help", "correct": True},
                {"text": "Let her sleep", "correct": False},
                {"text": "Give coffee", "correct": False},
            ],
        ),
        q("t-scenario-b", "true_false", objective="T-2", answer=True),
    ],
)

ALL_QUESTIONS = [
    SINGLE,
    MULTIPLE_PARTIAL,
    MULTIPLE_ALL,
    TRUE_FALSE,
    ORDERING,
    MATCHING,
    NUMERIC,
    NUMERIC_RANGE,
    SCENARIO,
]
GRADABLE_ITEMS = 10  # nine questions, the scenario counting as its two parts

QUIZ_SETTINGS = {
    "title": "Test quiz",
    "kind": "module",
    "pass_mark": 80,
    "attempt_limit": None,
    "time_limit_minutes": None,
    "cooldown_minutes": 0,
    "grading_policy": "highest",
    "review_policy": "full",
    "layout": "one_per_page",
    "shuffle_questions": True,
    "shuffle_choices": True,
    "require_lessons_read": False,
}


def make_quiz(key="test-quiz", bank_key="test-bank", questions=None, **settings_overrides):
    """A quiz drawing a whole bank; a certifying quiz gets an exam-pool bank and reviews by objective."""
    questions = questions if questions is not None else ALL_QUESTIONS
    if settings_overrides.get("certifying"):
        settings_overrides.setdefault("review_policy", "objectives")
    pool = "exam" if settings_overrides.get("certifying") else "practice"
    services.import_bank(key=bank_key, title="Test bank", questions=questions, pool=pool)
    quiz, _ = services.upsert_quiz(
        key=key,
        settings_={**QUIZ_SETTINGS, **settings_overrides},
        draw=[{"bank": bank_key, "count": len(questions)}],
    )
    return quiz


def correct_response(question_payload: dict, key_spec: dict) -> dict:
    """Build the correct answer in opaque ids from a learner payload and the spec it came from."""
    qtype = key_spec["type"]
    if qtype in ("single", "multiple"):
        right = {c["text"] for c in key_spec["choices"] if c["correct"]}
        return {"choice_ids": [c["id"] for c in question_payload["choices"] if c["text"] in right]}
    if qtype == "true_false":
        label = "True" if key_spec["answer"] else "False"
        return {"choice_ids": [c["id"] for c in question_payload["choices"] if c["text"] == label]}
    if qtype == "ordering":
        by_text = {i["text"]: i["id"] for i in question_payload["items"]}
        return {"order": [by_text[t] for t in key_spec["items"]]}
    if qtype == "matching":
        left = {i["text"]: i["id"] for i in question_payload["left"]}
        right = {i["text"]: i["id"] for i in question_payload["right"]}
        return {"pairs": {left[p["left"]]: right[p["right"]] for p in key_spec["pairs"]}}
    if qtype == "numeric":
        answer = key_spec["answer"]
        return {"value": answer.get("value", answer.get("min"))}
    raise ValueError(qtype)


SPECS_BY_KEY = {s["key"]: s for s in ALL_QUESTIONS} | {p["key"]: p for p in SCENARIO["parts"]}
