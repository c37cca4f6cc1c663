"""Property tests for quizzes/grading.py: pure functions, answers in, points and a reason out."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from quizzes import grading
from quizzes.grading import AnswerKey, Grade, ItemResult, policy_score, summarise

IDS = st.text(alphabet="abcdefghij0123456789", min_size=1, max_size=4)


@st.composite
def choice_keys(draw, types=("single", "multiple", "true_false")):
    """A choice question: its universe of choice ids and its key."""
    qtype = draw(st.sampled_from(types))
    if qtype == "true_false":
        universe = ["t", "f"]
    else:
        universe = sorted(draw(st.sets(IDS, min_size=3, max_size=8)))
    if qtype == "multiple":
        correct = draw(st.sets(st.sampled_from(universe), min_size=1))
    else:
        correct = {draw(st.sampled_from(universe))}
    key = AnswerKey(type=qtype, correct=frozenset(correct), partial_credit=draw(st.booleans()))
    return universe, key


@st.composite
def choice_cases(draw):
    """A choice key and a response picking from the universe and, sometimes, from outside it."""
    universe, key = draw(choice_keys())
    picked = draw(st.lists(st.sampled_from(universe) | IDS, max_size=10))
    return universe, key, picked


def _in_bounds(result: Grade) -> bool:
    return isinstance(result.points, Fraction) and 0 <= result.points <= 1


# --- choice types -----------------------------------------------------------------------------------


@given(choice_cases())
def test_choice_score_is_within_zero_and_one(case):
    _, key, picked = case
    result = grading.grade(key, {"choice_ids": picked})
    assert _in_bounds(result)
    assert result.reason


@given(choice_cases(), st.randoms(use_true_random=False))
def test_choice_grade_does_not_depend_on_pick_order(case, rnd):
    _, key, picked = case
    shuffled = list(picked)
    rnd.shuffle(shuffled)
    assert grading.grade(key, {"choice_ids": shuffled}) == grading.grade(key, {"choice_ids": picked})


@given(choice_keys(), st.randoms(use_true_random=False))
def test_picking_exactly_the_correct_choices_gives_full_marks(case, rnd):
    _, key = case
    picked = sorted(key.correct)
    rnd.shuffle(picked)
    result = grading.grade(key, {"choice_ids": picked})
    assert result.points == 1
    assert result.is_correct


@given(choice_keys(types=("multiple",)), st.data())
def test_partial_credit_is_right_minus_wrong_over_correct_never_negative(case, data):
    universe, key = case
    key = AnswerKey(type="multiple", correct=key.correct, partial_credit=True)
    picked = data.draw(st.sets(st.sampled_from(universe), min_size=1))
    right, wrong = len(picked & key.correct), len(picked - key.correct)
    result = grading.grade(key, {"choice_ids": sorted(picked)})
    assert result.points >= 0
    assert result.points == max(Fraction(0), Fraction(right - wrong, len(key.correct)))


@given(choice_keys(types=("multiple",)), st.data())
def test_all_or_nothing_gives_one_only_for_the_exact_set(case, data):
    universe, key = case
    key = AnswerKey(type="multiple", correct=key.correct, partial_credit=False)
    picked = data.draw(st.sets(st.sampled_from(universe), min_size=1))
    expected = 1 if picked == key.correct else 0
    assert grading.grade(key, {"choice_ids": sorted(picked)}).points == expected


@given(choice_keys(types=("single", "true_false")), st.data())
def test_single_choice_with_two_picks_scores_zero(case, data):
    universe, key = case
    two = data.draw(st.lists(st.sampled_from(universe), min_size=2, max_size=2, unique=True))
    assert grading.grade(key, {"choice_ids": two}).points == 0


def test_partial_credit_example_by_hand():
    key = AnswerKey(type="multiple", correct=frozenset({"a", "b", "c"}), partial_credit=True)
    assert grading.grade(key, {"choice_ids": ["a", "b", "x"]}).points == Fraction(1, 3)
    assert grading.grade(key, {"choice_ids": ["a", "x", "y"]}).points == 0
    assert grading.grade(key, {"choice_ids": ["a", "b", "c", "x"]}).points == Fraction(2, 3)


# --- ordering ---------------------------------------------------------------------------------------


@given(st.lists(IDS, min_size=3, max_size=8, unique=True), st.data())
def test_ordering_gives_one_only_for_the_exact_order(order, data):
    key = AnswerKey(type="ordering", order=tuple(order))
    assert grading.grade(key, {"order": list(order)}).points == 1
    permutation = data.draw(st.permutations(order))
    expected = 1 if list(permutation) == order else 0
    assert grading.grade(key, {"order": list(permutation)}).points == expected


@given(st.lists(IDS, min_size=3, max_size=8, unique=True))
def test_ordering_any_other_permutation_scores_zero(order):
    key = AnswerKey(type="ordering", order=tuple(order))
    swapped = [order[1], order[0], *order[2:]]
    assert grading.grade(key, {"order": swapped}).points == 0
    assert grading.grade(key, {"order": list(reversed(order))}).points == 0
    assert grading.grade(key, {"order": order[:-1]}).points == 0
    assert grading.grade(key, {"order": order + [order[0]]}).points == 0


# --- matching ---------------------------------------------------------------------------------------


@st.composite
def matching_cases(draw):
    lefts = draw(st.lists(IDS, min_size=3, max_size=8, unique=True))
    rights = draw(st.lists(IDS, min_size=len(lefts), max_size=len(lefts), unique=True))
    key = AnswerKey(type="matching", pairs=dict(zip(lefts, rights, strict=True)))
    chosen = draw(st.lists(st.sampled_from(rights + ["zz"]), min_size=len(lefts), max_size=len(lefts)))
    keep = draw(st.lists(st.booleans(), min_size=len(lefts), max_size=len(lefts)))
    response = {left: right for left, right, k in zip(lefts, chosen, keep, strict=True) if k}
    return key, response


@given(matching_cases(), st.randoms(use_true_random=False))
def test_matching_is_within_bounds_and_ignores_dict_order(case, rnd):
    key, pairs = case
    result = grading.grade(key, {"pairs": pairs})
    assert _in_bounds(result)
    items = list(pairs.items())
    rnd.shuffle(items)
    assert grading.grade(key, {"pairs": dict(items)}) == result
    right = sum(1 for left, target in key.pairs.items() if pairs.get(left) == target)
    if pairs:
        assert result.points == Fraction(right, len(key.pairs))


@given(matching_cases())
def test_matching_all_pairs_right_gives_full_marks(case):
    key, _ = case
    assert grading.grade(key, {"pairs": dict(reversed(list(key.pairs.items())))}).points == 1


# --- numeric ----------------------------------------------------------------------------------------

DECIMALS = st.decimals(min_value=-10000, max_value=10000, places=2, allow_nan=False, allow_infinity=False)
STEP = Decimal("0.001")  # below the keys' 2 decimal places: strictly outside a boundary


@given(DECIMALS, st.decimals(min_value=0, max_value=100, places=2))
def test_numeric_tolerance_boundaries_are_inclusive(value, tolerance):
    key = AnswerKey(type="numeric", value=value, tolerance=tolerance)
    for inside in (value, value - tolerance, value + tolerance):
        assert grading.grade(key, {"value": str(inside)}).points == 1
    for outside in (value - tolerance - STEP, value + tolerance + STEP):
        assert grading.grade(key, {"value": str(outside)}).points == 0


@given(DECIMALS, DECIMALS)
def test_numeric_range_boundaries_are_inclusive(a, b):
    low, high = min(a, b), max(a, b)
    key = AnswerKey(type="numeric", minimum=low, maximum=high)
    for inside in (low, high, (low + high) / 2):
        assert grading.grade(key, {"value": str(inside)}).points == 1
    for outside in (low - STEP, high + STEP):
        assert grading.grade(key, {"value": str(outside)}).points == 0


@given(st.integers(min_value=-(10**6), max_value=10**6))
def test_numeric_number_and_string_forms_grade_the_same(n):
    key = AnswerKey(type="numeric", value=Decimal(48), tolerance=Decimal(2))
    expected = 1 if 46 <= n <= 50 else 0
    assert grading.grade(key, {"value": n}).points == expected
    assert grading.grade(key, {"value": f" {n} "}).points == expected
    assert grading.grade(key, {"value": float(n)}).points == expected


# --- malformed responses ----------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=12,
)
NUMBERISH = st.from_regex(
    r"-?[0-9]{1,4}(\.[0-9]{1,4})?([eE][-+]?[0-9]{1,10})?", fullmatch=True
) | st.sampled_from(["NaN", "-Infinity", "sNaN", "1e999999999", "-1e999999999", "9" * 5000, "", " ", "1_0"])
RESPONSES = JSON | st.fixed_dictionaries(
    {},
    optional={
        "choice_ids": JSON | st.lists(IDS),
        "order": JSON | st.lists(IDS),
        "pairs": JSON | st.dictionaries(IDS, IDS | JSON),
        "value": JSON | NUMBERISH,
    },
)
KEYS = [
    AnswerKey(type="single", correct=frozenset({"a"})),
    AnswerKey(type="true_false", correct=frozenset({"t"})),
    AnswerKey(type="multiple", correct=frozenset({"a", "b"}), partial_credit=True),
    AnswerKey(type="multiple", correct=frozenset({"a", "b"})),
    AnswerKey(type="ordering", order=("a", "b", "c")),
    AnswerKey(type="matching", pairs={"a": "x", "b": "y", "c": "z"}),
    AnswerKey(type="numeric", value=Decimal(48), tolerance=Decimal("0.5")),
    AnswerKey(type="numeric", minimum=Decimal(30), maximum=Decimal(90)),
]


@pytest.mark.parametrize("key", KEYS, ids=lambda k: f"{k.type}-{'range' if k.minimum is not None else ''}")
@given(response=RESPONSES)
@example(response={"value": "1e999999999"})
@example(response={"value": "-1e999999999"})
@example(response={"choice_ids": "a"})
@example(response={"pairs": ["a", "x"]})
@example(response={"order": {"a": 1}})
@example(response=None)
def test_malformed_responses_never_raise_and_stay_in_bounds(key, response):
    result = grading.grade(key, response)
    assert _in_bounds(result)
    assert isinstance(result.reason, str) and result.reason


@pytest.mark.parametrize("key", KEYS, ids=lambda k: k.type)
@pytest.mark.parametrize("response", [None, {}, [], "x", {"choice_ids": []}, {"order": []}, {"pairs": {}}])
def test_empty_responses_are_not_answered(key, response):
    assert grading.grade(key, response) == grading.NOT_ANSWERED


def test_unknown_question_type_is_a_programming_error():
    with pytest.raises(ValueError, match="No grading rule"):
        grading.grade(AnswerKey(type="essay"), {})


# --- summarise and policy ---------------------------------------------------------------------------

ITEMS = st.lists(
    st.builds(
        ItemResult,
        question_id=IDS,
        grade=st.builds(
            Grade,
            points=st.sampled_from(
                [Fraction(0), Fraction(1, 3), Fraction(1, 2), Fraction(2, 3), Fraction(1)]
            ),
            reason=st.just("r"),
        ),
        critical=st.booleans(),
        objective=st.sampled_from(["O-1", "O-2"]),
    ),
    max_size=12,
)


@given(ITEMS, st.integers(min_value=1, max_value=100))
def test_summarise_passes_only_with_pass_mark_and_no_critical_missed(items, pass_mark):
    result = summarise(items, pass_mark_percent=pass_mark)
    ratio = sum((i.grade.points for i in items), Fraction(0)) / len(items) if items else Fraction(0)
    missed = tuple(i for i in items if i.critical and i.grade.points != 1)
    assert result.max_points == len(items)
    assert result.critical_missed == missed
    assert result.passed == (bool(items) and ratio * 100 >= pass_mark and not missed)
    # rounded down to two places: never shows more than was earned, never a learner passing on rounding
    assert Decimal(0) <= result.score_percent <= Decimal(100)
    exact = Fraction(100) * ratio
    assert Fraction(result.score_percent) <= exact < Fraction(result.score_percent) + Fraction(1, 100)


def test_summarise_critical_miss_fails_a_perfect_score_otherwise():
    ok = Grade(Fraction(1), "ok")
    items = [ItemResult(str(i), ok, False, "O-1") for i in range(9)]
    items.append(ItemResult("c", Grade(Fraction(0), "no"), True, "O-9"))
    result = summarise(items, pass_mark_percent=80)
    assert result.score_percent == Decimal("90.00")
    assert result.passed is False
    assert [i.objective for i in result.critical_missed] == ["O-9"]
    assert summarise(items[:9], pass_mark_percent=100).passed is True
    assert summarise([], pass_mark_percent=1).passed is False


def test_summarise_two_thirds_rounds_down():
    items = [ItemResult(str(i), Grade(Fraction(i < 2), "r"), False, "O") for i in range(3)]
    assert summarise(items, pass_mark_percent=67).score_percent == Decimal("66.66")
    assert summarise(items, pass_mark_percent=67).passed is False


SCORES = st.lists(st.decimals(min_value=0, max_value=100, places=2), min_size=1, max_size=8)


@given(SCORES)
def test_policy_score_for_each_policy(scores):
    assert policy_score(scores, "highest") == max(scores)
    assert policy_score(scores, "last") == scores[-1]
    assert policy_score(scores, "first") == scores[0]
    average = policy_score(scores, "average")
    exact = Fraction(sum(scores)) / len(scores)
    assert Fraction(average) <= exact < Fraction(average) + Fraction(1, 100)
    assert min(scores) <= average <= max(scores)


def test_policy_score_by_hand_and_edge_cases():
    scores = [Decimal("50.00"), Decimal("100.00"), Decimal("25.00")]
    assert policy_score(scores, "highest") == Decimal("100.00")
    assert policy_score(scores, "last") == Decimal("25.00")
    assert policy_score(scores, "first") == Decimal("50.00")
    assert policy_score(scores, "average") == Decimal("58.33")
    assert policy_score([], "highest") is None
    with pytest.raises(ValueError, match="Unknown grading policy"):
        policy_score(scores, "median")


@given(choice_cases())
def test_grading_is_deterministic(case):
    _, key, picked = case
    assume(picked)
    assert grading.grade(key, {"choice_ids": picked}) == grading.grade(key, {"choice_ids": list(picked)})
