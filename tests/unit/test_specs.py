"""Content validation (quizzes/specs.py) and bank import with versioning (services.import_bank)."""

import copy

import pytest

from quizzes import services, specs
from quizzes.errors import ContentError
from quizzes.models import Answer, Choice, Question, QuestionBank
from tests.quiz_content import ALL_QUESTIONS, MATCHING, NUMERIC_RANGE, SCENARIO, SINGLE, make_quiz, q
from tests.quiz_helpers import answer_all


def _single(choices, key="s-1"):
    return q(key, "single", choices=choices)


THREE = [
    {"text": "One", "correct": True},
    {"text": "Two", "correct": False},
    {"text": "Three", "correct": False},
]


def test_the_test_bank_is_valid():
    assert specs.validate_bank(ALL_QUESTIONS) == []


@pytest.mark.parametrize("n_correct", [0, 2, 3])
def test_single_choice_needs_exactly_one_correct(n_correct):
    choices = [{"text": t, "correct": i < n_correct} for i, t in enumerate(["One", "Two", "Three"])]
    problems = specs.validate_question(_single(choices))
    assert problems == [f"s-1: a single-choice question needs exactly one correct choice, has {n_correct}"]


def test_single_choice_with_one_correct_is_valid():
    assert specs.validate_question(_single(THREE)) == []


@pytest.mark.parametrize("text", ["All of the above", "none of these answers", "Both of the options"])
def test_all_of_the_above_is_refused_in_single_choice(text):
    choices = THREE[:2] + [{"text": text, "correct": False}]
    problems = specs.validate_question(_single(choices))
    assert problems == ['s-1: "all/none of the above" is not allowed in single choice']


@pytest.mark.parametrize(
    "pairs",
    [
        [{"left": "A", "right": "1"}, {"left": "B", "right": "2"}, {"left": "C"}],
        [{"left": "A", "right": "1"}, {"left": "B", "right": "2"}, {"left": " ", "right": "3"}],
        [{"left": "A", "right": "1"}, {"left": "B", "right": "2"}, "C=3"],
    ],
)
def test_matching_with_an_incomplete_pair_is_refused(pairs):
    problems = specs.validate_question(q("m-1", "matching", pairs=pairs))
    assert "m-1: every matching pair needs both a left and a right text" in problems


def test_matching_needs_three_pairs_and_distinct_sides():
    two = q("m-2", "matching", pairs=[{"left": "A", "right": "1"}, {"left": "B", "right": "2"}])
    assert specs.validate_question(two) == ["m-2: a matching question needs 3-8 pairs"]
    dup = copy.deepcopy(MATCHING)
    dup["extra_right"] = ["opioid"]  # same as a right text, case-insensitively
    assert specs.validate_question(dup) == ["t-match: matching texts must be distinct on each side"]


@pytest.mark.parametrize(("n_parts", "ok"), [(0, False), (1, False), (2, True), (5, True), (6, False)])
def test_scenario_needs_two_to_five_parts(n_parts, ok):
    parts = [q(f"p-{i}", "true_false", answer=True) for i in range(n_parts)]
    problems = specs.validate_question(q("sc-1", "scenario", parts=parts))
    assert problems == ([] if ok else ["sc-1: a scenario needs 2-5 parts"])


def test_scenario_part_problems_are_located_and_nesting_refused():
    inner = q("sc-inner", "scenario", parts=[q("x-1", "true_false", answer=True)] * 2)
    bad_part = _single(THREE[:1] + [{"text": "Two", "correct": True}, {"text": "Three"}], key="p-bad")
    problems = specs.validate_question(q("sc-2", "scenario", parts=[inner, bad_part]))
    assert "sc-2 > sc-inner: a scenario cannot contain another scenario" in problems
    assert "sc-2 > p-bad: a single-choice question needs exactly one correct choice, has 2" in problems


def test_duplicate_keys_are_refused_top_level_and_in_parts():
    assert specs.validate_bank([SINGLE, copy.deepcopy(SINGLE)]) == ["t-single: duplicate question key"]
    clash = copy.deepcopy(SINGLE)
    clash["key"] = SCENARIO["parts"][0]["key"]
    assert specs.validate_bank([SCENARIO, clash]) == ["t-scenario-a: duplicate question key"]


@pytest.mark.parametrize(
    ("answer", "ok"),
    [
        ({"min": 90, "max": 30}, False),
        ({"min": 30, "max": 30}, True),
        ({"min": "x", "max": 30}, False),
        ({"min": 30}, False),
        ({"value": 5, "tolerance": -1}, False),
        ({"value": 5, "tolerance": 0.5}, True),
        ({"value": True}, False),
    ],
)
def test_numeric_answers(answer, ok):
    problems = specs.validate_question(q("n-1", "numeric", answer=answer))
    assert (problems == []) is ok, problems


def test_numeric_range_min_above_max_message():
    spec = copy.deepcopy(NUMERIC_RANGE)
    spec["answer"] = {"min": 91, "max": 90}
    assert specs.validate_question(spec) == ["t-num-range: numeric range needs numbers with min <= max"]


def test_every_problem_of_a_question_is_reported_in_one_pass():
    spec = {
        "key": "Bad Key",
        "type": "single",
        "stem": "",
        "explanation": "x",
        "source": "s",
        "objective": "O",
        "difficulty": 7,
        "colour": "red",
        "choices": [{"text": "A", "correct": True}, {"text": "a", "correct": True}],
    }
    problems = specs.validate_question(spec)
    assert problems == [
        "Bad Key: key must be lowercase letters, digits and hyphens",
        "Bad Key: unknown field(s) for single: colour",
        "Bad Key: stem is required",
        "Bad Key: difficulty must be 1, 2 or 3",
        "Bad Key: two choices have the same text",
        "Bad Key: a single-choice question needs 3-6 choices, has 2",
        "Bad Key: a single-choice question needs exactly one correct choice, has 2",
    ]


# --- import ----------------------------------------------------------------------------------------

pytestmark_db = pytest.mark.django_db


def _counts():
    return (QuestionBank.objects.count(), Question.objects.count(), Choice.objects.count())


@pytestmark_db
def test_import_refuses_an_invalid_bank_listing_every_problem_and_writes_nothing():
    two_correct = _single([{"text": t, "correct": True} for t in ("A", "B", "C")], key="bad-single")
    range_bad = q("bad-range", "numeric", answer={"min": 5, "max": 1})
    one_part = q("bad-scenario", "scenario", parts=[q("bad-part", "true_false", answer=True)])
    with pytest.raises(ContentError) as caught:
        services.import_bank(
            key="broken", title="Broken", questions=[SINGLE, two_correct, range_bad, one_part, SINGLE]
        )
    expected = [
        "bank broken: bad-single: a single-choice question needs exactly one correct choice, has 3",
        "bank broken: bad-range: numeric range needs numbers with min <= max",
        "bank broken: bad-scenario: a scenario needs 2-5 parts",
        "bank broken: t-single: duplicate question key",
    ]
    assert caught.value.problems == expected
    assert caught.value.message.startswith("Invalid content:")
    for problem in expected:
        assert problem in caught.value.message
    assert _counts() == (0, 0, 0)


@pytestmark_db
def test_an_invalid_reimport_leaves_the_existing_bank_untouched():
    services.import_bank(key="b", title="B", questions=ALL_QUESTIONS)
    before = list(Question.objects.values_list("pk", "key", "version", "is_current", "content_hash"))
    changed = copy.deepcopy(SINGLE)
    changed["stem"] = "A changed stem?"
    broken = copy.deepcopy(NUMERIC_RANGE)
    broken["answer"] = {"min": 9, "max": 1}
    with pytest.raises(ContentError):
        services.import_bank(key="b", title="Renamed", questions=[changed, broken])
    after = list(Question.objects.values_list("pk", "key", "version", "is_current", "content_hash"))
    assert after == before
    assert QuestionBank.objects.get(key="b").title == "B"


@pytestmark_db
def test_reimporting_an_unchanged_bank_creates_no_versions():
    first = services.import_bank(key="b", title="B", questions=ALL_QUESTIONS)
    assert sorted(first.added) == sorted(s["key"] for s in ALL_QUESTIONS)
    counts = _counts()
    again = services.import_bank(key="b", title="B", questions=copy.deepcopy(ALL_QUESTIONS))
    assert not again.has_changes
    assert sorted(again.unchanged) == sorted(s["key"] for s in ALL_QUESTIONS)
    assert _counts() == counts
    assert set(Question.objects.values_list("version", flat=True)) == {1}


@pytestmark_db
def test_a_changed_question_gets_a_new_version_and_the_old_one_stays_with_its_answers(user):
    quiz = make_quiz()
    old = Question.objects.get(key="t-single", is_current=True)
    old_choices = list(old.choices.values_list("pk", "text", "correct", "feedback"))
    attempt, _ = services.start_attempt(user=user, quiz=quiz)
    answer_all(attempt, user)
    services.submit_attempt(attempt_id=attempt.pk, user=user)
    old_answer = Answer.objects.get(attempt=attempt, question=old)
    assert old_answer.points == 1

    changed = copy.deepcopy(SINGLE)
    changed["choices"][1]["text"] = "Stimulant (changed)"
    report = services.import_bank(key="test-bank", title="Test bank", questions=[changed] + ALL_QUESTIONS[1:])
    assert report.changed == ["t-single"]
    assert len(report.unchanged) == len(ALL_QUESTIONS) - 1

    versions = Question.objects.filter(key="t-single").order_by("version")
    assert [(v.version, v.is_current) for v in versions] == [(1, False), (2, True)]
    old.refresh_from_db()
    assert old.is_current is False
    assert list(old.choices.values_list("pk", "text", "correct", "feedback")) == old_choices
    new = versions[1]
    assert "Stimulant (changed)" in new.choices.values_list("text", flat=True)
    old_answer.refresh_from_db()
    assert (old_answer.question_id, old_answer.points) == (old.pk, 1)
    assert Question.objects.filter(key="t-single", is_current=True).get() == new


@pytestmark_db
def test_an_open_attempt_is_graded_against_the_version_it_was_given(user):
    quiz = make_quiz()
    attempt, _ = services.start_attempt(user=user, quiz=quiz)
    answer_all(attempt, user)
    changed = copy.deepcopy(SINGLE)
    for choice in changed["choices"]:
        choice["correct"] = choice["text"] == "Stimulant"  # the key flips after the learner answered
    services.import_bank(key="test-bank", title="Test bank", questions=[changed] + ALL_QUESTIONS[1:])
    outcome = services.submit_attempt(attempt_id=attempt.pk, user=user)
    assert outcome.attempt.score == 100


@pytestmark_db
def test_a_changed_scenario_versions_its_parts_too():
    services.import_bank(key="b", title="B", questions=[SCENARIO])
    changed = copy.deepcopy(SCENARIO)
    changed["stem"] = "A new case."
    report = services.import_bank(key="b", title="B", questions=[changed])
    assert report.changed == ["t-scenario"]
    current = Question.objects.filter(is_current=True).order_by("key")
    assert [(c.key, c.version) for c in current] == [
        ("t-scenario", 2),
        ("t-scenario-a", 2),
        ("t-scenario-b", 2),
    ]
    parent = current[0]
    assert sorted(p.key for p in parent.parts.all()) == ["t-scenario-a", "t-scenario-b"]
    assert Question.objects.filter(is_current=False).count() == 3


@pytestmark_db
def test_a_removed_question_is_retired_not_deleted():
    services.import_bank(key="b", title="B", questions=ALL_QUESTIONS)
    remaining = [s for s in ALL_QUESTIONS if s["key"] not in ("t-num", "t-scenario")]
    report = services.import_bank(key="b", title="B", questions=remaining)
    assert sorted(report.retired) == ["t-num", "t-scenario"]
    retired = Question.objects.filter(key__in=["t-num", "t-scenario", "t-scenario-a", "t-scenario-b"])
    assert retired.count() == 4
    assert not retired.filter(is_current=True).exists()
    assert Question.objects.filter(is_current=True).count() == len(remaining)
    # bringing it back makes a new current version
    report = services.import_bank(key="b", title="B", questions=ALL_QUESTIONS)
    assert sorted(report.added) == ["t-num", "t-scenario"]
    assert Question.objects.get(key="t-num", is_current=True).version == 2
