"""The start rule as a pure function (quizzes.eligibility): no database, no clock of its own."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

from quizzes.eligibility import QuizStartState, quiz_eligibility

NOW = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)


def quiz(**settings):
    return SimpleNamespace(
        pk=7,
        attempt_limit=settings.get("limit"),
        cooldown_minutes=settings.get("cooldown", 0),
        grading_policy="highest",
    )


def submitted(number, *, minutes_ago, passed=False):
    return SimpleNamespace(
        pk=number,
        number=number,
        state="submitted",
        score=Decimal(90 if passed else 40),
        passed=passed,
        submitted_at=NOW - timedelta(minutes=minutes_ago),
        deadline=None,
    )


def override(kind, *, minutes_ago=0, value=1, quiz_id=7):
    return SimpleNamespace(
        kind=kind, granted_at=NOW - timedelta(minutes=minutes_ago), value=value, quiz_id=quiz_id
    )


def decide(q, attempts=(), overrides=(), lock=None):
    return quiz_eligibility(
        quiz=q, attempts=list(attempts), overrides=list(overrides), lesson_lock=lock, now=NOW
    )


def test_a_cool_down_reset_granted_before_the_last_submission_does_not_count():
    attempts = [submitted(1, minutes_ago=10)]
    early = override("cooldown_reset", minutes_ago=20)
    result = decide(quiz(cooldown=30), attempts, [early])
    assert result.state == QuizStartState.COOLING_DOWN and not result.can_start
    assert result.next_start_at == NOW + timedelta(minutes=20)
    assert decide(quiz(cooldown=30), attempts, [override("cooldown_reset", minutes_ago=5)]).can_start


def test_extra_attempts_add_to_the_limit_one_each():
    attempts = [submitted(1, minutes_ago=90), submitted(2, minutes_ago=60)]
    assert decide(quiz(limit=2), attempts).state == QuizStartState.NO_ATTEMPTS_LEFT
    one_more = decide(quiz(limit=2), attempts, [override("extra_attempt")])
    assert one_more.state == QuizStartState.FAILED and one_more.attempts_left == 1


def test_the_limit_is_told_before_the_cool_down_and_the_lesson_lock_before_both():
    attempts = [submitted(1, minutes_ago=1)]
    assert decide(quiz(limit=1, cooldown=30), attempts).state == QuizStartState.NO_ATTEMPTS_LEFT
    locked = decide(quiz(limit=1, cooldown=30), attempts, lock="Read the lessons first.")
    assert (locked.state, locked.reason, locked.blocked_by) == ("locked", "Read the lessons first.", "locked")


def test_a_passed_quiz_may_be_practised_within_the_same_limits():
    passed = [submitted(1, minutes_ago=10, passed=True)]
    waiting = decide(quiz(cooldown=30), passed)
    assert waiting.state == QuizStartState.PASSED and not waiting.can_start
    assert waiting.blocked_by == QuizStartState.COOLING_DOWN and waiting.next_start_at is not None
    assert decide(quiz(cooldown=5), passed).can_start


def test_the_largest_time_multiplier_applies_and_overrides_of_other_quizzes_are_left_out_by_the_caller():
    result = decide(
        quiz(),
        overrides=[override("time_multiplier", value=Decimal("1.5")), override("time_multiplier", value=2)],
    )
    assert result.time_multiplier == 2


def test_an_open_attempt_is_resumed_until_its_deadline_and_grace_then_time_is_up():
    open_attempt = SimpleNamespace(pk=3, number=1, state="in_progress", deadline=NOW - timedelta(seconds=5))
    assert decide(quiz(), [open_attempt]).state == QuizStartState.IN_PROGRESS  # within the 10 s grace
    open_attempt.deadline = NOW - timedelta(seconds=11)
    assert decide(quiz(), [open_attempt]).state == QuizStartState.TIME_UP
