"""Pure grading: an answer key and a response in, points and a reason out. No ORM, no clock.

Every gradable item is worth one point; `points` is a Fraction in [0, 1] so sums are exact. Ids are
strings (choice primary keys as text). Responses are canonical (already translated from the opaque
per-attempt ids by the services) but may be partial or malformed; grading never raises on them.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction

SINGLE = "single"
MULTIPLE = "multiple"
TRUE_FALSE = "true_false"
ORDERING = "ordering"
MATCHING = "matching"
NUMERIC = "numeric"
CHOICE_TYPES = frozenset({SINGLE, MULTIPLE, TRUE_FALSE})


@dataclass(frozen=True)
class AnswerKey:
    type: str
    correct: frozenset[str] = frozenset()  # single, multiple, true/false: ids of correct choices
    partial_credit: bool = False  # multiple: +1 per correct pick, -1 per wrong pick, floor 0
    order: tuple[str, ...] = ()  # ordering: ids in the correct order
    pairs: Mapping[str, str] = field(default_factory=dict)  # matching: left id -> right id
    value: Decimal | None = None  # numeric: exact value with tolerance ...
    tolerance: Decimal = Decimal(0)
    minimum: Decimal | None = None  # ... or an inclusive range
    maximum: Decimal | None = None


@dataclass(frozen=True)
class Grade:
    points: Fraction
    reason: str

    @property
    def is_correct(self) -> bool:
        return self.points == 1


NOT_ANSWERED = Grade(Fraction(0), "Not answered.")


def _ids(value) -> list[str] | None:
    if not isinstance(value, list | tuple):
        return None
    return [str(v) for v in value]


def grade_choice(key: AnswerKey, response: Mapping) -> Grade:
    picked_list = _ids(response.get("choice_ids"))
    if not picked_list:
        return NOT_ANSWERED
    picked = set(picked_list)
    if key.type in (SINGLE, TRUE_FALSE):
        if len(picked) != 1:
            return Grade(Fraction(0), "More than one choice was picked; exactly one is correct.")
        if picked <= key.correct:
            return Grade(Fraction(1), "Correct choice.")
        return Grade(Fraction(0), "Incorrect choice.")
    right = len(picked & key.correct)
    wrong = len(picked - key.correct)
    missed = len(key.correct - picked)
    if not key.partial_credit:
        if wrong == 0 and missed == 0:
            return Grade(Fraction(1), "All correct choices picked and no wrong ones.")
        return Grade(
            Fraction(0), f"All or nothing: {missed} correct choice(s) missed, {wrong} wrong pick(s)."
        )
    points = max(Fraction(0), Fraction(right - wrong, len(key.correct)))
    return Grade(
        points,
        f"Partial credit: {right} of {len(key.correct)} correct picked, {wrong} wrong pick(s) "
        f"deducted, scored {points.numerator}/{points.denominator}."
        if points.denominator != 1
        else f"Partial credit: {right} of {len(key.correct)} correct picked, {wrong} wrong pick(s) deducted.",
    )


def grade_ordering(key: AnswerKey, response: Mapping) -> Grade:
    order = _ids(response.get("order"))
    if not order:
        return NOT_ANSWERED
    if tuple(order) == key.order:
        return Grade(Fraction(1), "Items in the correct order.")
    if sorted(order) != sorted(key.order):
        return Grade(Fraction(0), "Not every item was placed exactly once.")
    in_place = sum(1 for a, b in zip(order, key.order, strict=True) if a == b)
    return Grade(Fraction(0), f"Order incorrect: {in_place} of {len(key.order)} items in the right position.")


def grade_matching(key: AnswerKey, response: Mapping) -> Grade:
    pairs = response.get("pairs")
    if not isinstance(pairs, Mapping) or not pairs:
        return NOT_ANSWERED
    given = {str(k): str(v) for k, v in pairs.items() if v not in (None, "")}
    if not given:
        return NOT_ANSWERED
    right = sum(1 for left, target in key.pairs.items() if given.get(left) == target)
    points = Fraction(right, len(key.pairs))
    return Grade(points, f"{right} of {len(key.pairs)} pairs matched correctly.")


def _decimal(value) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def grade_numeric(key: AnswerKey, response: Mapping) -> Grade:
    if response.get("value") in (None, ""):
        return NOT_ANSWERED
    number = _decimal(response.get("value"))
    if number is None:
        return Grade(Fraction(0), "The answer is not a number.")
    if key.value is not None:
        # Compare, never subtract: a huge exponent ("1e999999999") would overflow the Decimal context.
        ok = key.value - key.tolerance <= number <= key.value + key.tolerance
    else:
        ok = key.minimum <= number <= key.maximum
    if ok:
        return Grade(Fraction(1), "Within the accepted range.")
    return Grade(Fraction(0), "Outside the accepted range.")


def grade(key: AnswerKey, response: Mapping | None) -> Grade:
    if not isinstance(response, Mapping):
        return NOT_ANSWERED
    if key.type in CHOICE_TYPES:
        return grade_choice(key, response)
    if key.type == ORDERING:
        return grade_ordering(key, response)
    if key.type == MATCHING:
        return grade_matching(key, response)
    if key.type == NUMERIC:
        return grade_numeric(key, response)
    raise ValueError(f"No grading rule for question type {key.type!r}")


@dataclass(frozen=True)
class ItemResult:
    question_id: str
    grade: Grade
    critical: bool
    objective: str


@dataclass(frozen=True)
class AttemptResult:
    points: Fraction
    max_points: int
    score_percent: Decimal  # rounded down to 2 places: a learner never passes on rounding
    passed: bool
    critical_missed: tuple[ItemResult, ...]


def summarise(items: Sequence[ItemResult], *, pass_mark_percent: int) -> AttemptResult:
    """Score = points / items. Passed needs the pass mark AND every critical item fully correct."""
    max_points = len(items)
    points = sum((item.grade.points for item in items), Fraction(0))
    ratio = points / max_points if max_points else Fraction(0)
    percent = (Decimal(ratio.numerator) * 100 / Decimal(ratio.denominator)).quantize(
        Decimal("0.01"), rounding="ROUND_DOWN"
    )
    critical_missed = tuple(item for item in items if item.critical and not item.grade.is_correct)
    passed = max_points > 0 and ratio * 100 >= pass_mark_percent and not critical_missed
    return AttemptResult(points, max_points, percent, passed, critical_missed)


def policy_score(scores: Sequence[Decimal], policy: str) -> Decimal | None:
    """The learner's quiz score under a grading policy; scores in attempt order, oldest first."""
    if not scores:
        return None
    if policy == "highest":
        return max(scores)
    if policy == "last":
        return scores[-1]
    if policy == "first":
        return scores[0]
    if policy == "average":
        return (sum(scores) / len(scores)).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
    raise ValueError(f"Unknown grading policy {policy!r}")


def is_answered(item: dict, canonical: dict | None) -> bool:
    """The one rule for "answered" (counts, navigator, review list). An ordering counts only once every
    step has a place and a matching once every left item has a partner: a half-done one is not an answer."""
    if not any(v not in (None, "", [], {}) for v in (canonical or {}).values()):
        return False
    if item["type"] == "ordering":
        return len(canonical.get("order") or []) == len(item["choices"])
    if item["type"] == "matching":
        return len(canonical.get("pairs") or {}) == len(item["left"])
    return True
