"""Whether and when a learner may start a quiz: the one rule. Pure: no ORM, no clock of its own.

`quiz_eligibility` takes the quiz's settings, the learner's attempts in the current window (a course's
current cycle), their overrides, the course layer's lesson lock and `now`, and returns the state, the
reason in plain words and when the next start becomes possible. `services.start_attempt` enforces
with it; every page and API response displays from it. Nothing else decides a quiz's state.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from django.conf import settings
from django.utils import timezone

from . import grading

GRACE = timedelta(seconds=getattr(settings, "QUIZ_DEADLINE_GRACE_SECONDS", 10))

IN_PROGRESS = "in_progress"  # AttemptState values, repeated so this module needs no model import
SUBMITTED = "submitted"
EXTRA_ATTEMPT = "extra_attempt"  # QuizOverride.Kind values
COOLDOWN_RESET = "cooldown_reset"
TIME_MULTIPLIER = "time_multiplier"


class QuizStartState(StrEnum):
    NOT_STARTED = "not_started"  # never attempted; may start
    LOCKED = "locked"  # the course layer's lock (lessons unread); `reason` says why
    IN_PROGRESS = "in_progress"  # an open attempt with time left: resume it
    TIME_UP = "time_up"  # an open attempt past its deadline: it is graded when next opened
    COOLING_DOWN = "cooling_down"  # not passed; the next start opens at `next_start_at`
    NO_ATTEMPTS_LEFT = "no_attempts_left"  # attempt limit (plus extra attempts granted) used up
    PASSED = "passed"  # passed; may practise again when `can_start`
    FAILED = "failed"  # not passed yet, may try again now


LABELS = {
    QuizStartState.NOT_STARTED: "Not attempted",
    QuizStartState.LOCKED: "Locked",
    QuizStartState.IN_PROGRESS: "In progress",
    QuizStartState.TIME_UP: "Time is up",
    QuizStartState.COOLING_DOWN: "Cooling down",
    QuizStartState.NO_ATTEMPTS_LEFT: "No attempts left",
    QuizStartState.PASSED: "Passed",
    QuizStartState.FAILED: "Not passed yet",
}


@dataclass(frozen=True)
class QuizStanding:
    """A learner's standing on a quiz: the rule for "passed" lives here and nowhere else."""

    quiz_id: int
    attempts_used: int
    passed: bool
    policy_score: Decimal | None
    best_score: Decimal | None
    open_attempt_id: int | None
    last_submitted_at: datetime | None


def standing_from_attempts(quiz, attempts: Iterable) -> QuizStanding:
    attempts = list(attempts)
    submitted = [a for a in sorted(attempts, key=lambda a: a.number) if a.state == SUBMITTED]
    open_ids = [a.pk for a in attempts if a.state == IN_PROGRESS]
    scores = [a.score for a in submitted]
    return QuizStanding(
        quiz_id=quiz.pk,
        attempts_used=len(submitted),
        passed=any(a.passed for a in submitted),
        policy_score=grading.policy_score(scores, quiz.grading_policy),
        best_score=max(scores) if scores else None,
        open_attempt_id=open_ids[0] if open_ids else None,
        last_submitted_at=submitted[-1].submitted_at if submitted else None,
    )


def is_past_deadline(attempt, now: datetime) -> bool:
    """Past the deadline plus the grace for autosaves in flight: the attempt is due to be graded."""
    return attempt.deadline is not None and now > attempt.deadline + GRACE


@dataclass(frozen=True)
class Eligibility:
    quiz_id: int
    state: QuizStartState
    reason: str  # plain words for the learner (and their supervisor)
    can_start: bool  # a start now creates a new attempt (resuming is not a start)
    blocked_by: "QuizStartState | None"  # the rule refusing a start: locked, no attempts left, cooling down
    next_start_at: datetime | None  # when a refused start becomes possible; None: now, or never
    standing: QuizStanding
    attempts_allowed: int | None  # the limit plus extra attempts granted; None: no limit
    time_multiplier: Decimal  # the largest accommodation granted, applied to the time limit
    open_attempt_id: int | None

    @property
    def label(self) -> str:
        return LABELS[self.state]

    @property
    def attempts_used(self) -> int:
        return self.standing.attempts_used

    @property
    def attempts_left(self) -> int | None:
        if self.attempts_allowed is None:
            return None
        return max(0, self.attempts_allowed - self.standing.attempts_used)


def overrides_for(overrides: Iterable, quiz_id: int) -> list:
    """The overrides that apply to one quiz: granted for it, or for every quiz."""
    return [o for o in overrides if o.quiz_id in (None, quiz_id)]


def _when(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%H:%M on %d %b %Y}"


def quiz_eligibility(
    *,
    quiz,
    attempts: Sequence,
    overrides: Sequence,
    lesson_lock: str | None,
    now: datetime,
) -> Eligibility:
    """The state of one quiz for one learner.

    quiz: the settings (attempt_limit, cooldown_minutes, grading_policy, pk).
    attempts: the learner's attempts on this quiz in the current window, open ones included.
    overrides: the learner's quiz overrides that apply to this quiz (for it, or for every quiz).
    lesson_lock: the course layer's reason the quiz is locked (lessons unread), or None.
    """
    standing = standing_from_attempts(quiz, attempts)
    submitted = sorted((a for a in attempts if a.state == SUBMITTED), key=lambda a: a.number)
    open_attempt = next((a for a in attempts if a.state == IN_PROGRESS), None)
    extra = sum(1 for o in overrides if o.kind == EXTRA_ATTEMPT)
    allowed = None if quiz.attempt_limit is None else quiz.attempt_limit + extra
    multiplier = max([Decimal(1)] + [Decimal(o.value) for o in overrides if o.kind == TIME_MULTIPLIER])

    def result(state, reason, *, can_start=False, blocked_by=None, next_start_at=None) -> Eligibility:
        return Eligibility(
            quiz_id=quiz.pk,
            state=state,
            reason=reason,
            can_start=can_start,
            blocked_by=blocked_by,
            next_start_at=next_start_at,
            standing=standing,
            attempts_allowed=allowed,
            time_multiplier=multiplier,
            open_attempt_id=open_attempt.pk if open_attempt else None,
        )

    if open_attempt is not None:
        if is_past_deadline(open_attempt, now):
            return result(
                QuizStartState.TIME_UP,
                "Time ran out on your attempt. Open it to see the result: the answers saved in time are graded.",
            )
        return result(
            QuizStartState.IN_PROGRESS, "You have an attempt in progress. Resume it where you left off."
        )
    if lesson_lock:
        return result(QuizStartState.LOCKED, lesson_lock, blocked_by=QuizStartState.LOCKED)

    last = submitted[-1] if submitted else None
    refusal = None
    if allowed is not None and len(submitted) >= allowed:
        refusal = (
            QuizStartState.NO_ATTEMPTS_LEFT,
            f"You have used all {allowed} attempts for this quiz. Ask your supervisor if you need another.",
            None,
        )
    elif last is not None and quiz.cooldown_minutes:
        retry_at = last.submitted_at + timedelta(minutes=quiz.cooldown_minutes)
        reset = any(o.kind == COOLDOWN_RESET and o.granted_at >= last.submitted_at for o in overrides)
        if now < retry_at and not reset:
            refusal = (
                QuizStartState.COOLING_DOWN,
                f"You can take this quiz again at {_when(retry_at)}.",
                retry_at,
            )
    if standing.passed:
        if refusal is None:
            return result(
                QuizStartState.PASSED,
                "You have passed this quiz. You may practise again; your passing result stays.",
                can_start=True,
            )
        blocked_by, _, retry_at = refusal
        reason = "You have passed this quiz."
        if retry_at is not None:
            reason += f" You can practise again at {_when(retry_at)}."
        return result(QuizStartState.PASSED, reason, blocked_by=blocked_by, next_start_at=retry_at)
    if refusal is not None:
        state, reason, retry_at = refusal
        return result(state, reason, blocked_by=state, next_start_at=retry_at)
    if submitted:
        return result(QuizStartState.FAILED, "Not passed yet. You can try again now.", can_start=True)
    return result(QuizStartState.NOT_STARTED, "Not attempted yet. You can start now.", can_start=True)
