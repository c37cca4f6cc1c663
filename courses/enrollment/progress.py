"""The one meaning of progress. Pure: raw facts in, progress out.

- A lesson is read when its LessonProgress on the enrollment has `completed_at`.
- A quiz is passed when an attempt submitted during this enrollment scored at or above the pass mark
  with no critical question missed (the quiz engine stores that as `Attempt.passed`).
- A course is complete when every lesson is read, every module quiz and the final exam are passed, and
  every required skill sign-off exists. A clinical update made only of changed questions has no lesson:
  it is complete when its quiz is passed (an enrollment with nothing to do is never complete).
"""

import math
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Progress:
    lessons_total: int
    lessons_read: int
    quizzes_total: int
    quizzes_passed: int
    signoffs_required: int = 0
    signoffs_done: int = 0

    @property
    def percent(self) -> int:
        total = self.lessons_total + self.quizzes_total + self.signoffs_required
        done = self.lessons_read + self.quizzes_passed + self.signoffs_done
        return int(done * 100 // total) if total else 0

    @property
    def complete(self) -> bool:
        return (
            self.lessons_total + self.quizzes_total > 0
            and self.lessons_read >= self.lessons_total
            and self.quizzes_passed >= self.quizzes_total
            and self.signoffs_done >= self.signoffs_required
        )

    @property
    def started(self) -> bool:
        return self.lessons_read > 0 or self.quizzes_passed > 0


def lesson_minimum_seconds(*, minimum_lesson_percent: int, lesson_minutes: int) -> int:
    """How long after first opening a lesson it may be marked read (the course's minimum lesson time)."""
    return math.ceil(lesson_minutes * 60 * minimum_lesson_percent / 100)


def lesson_seconds_remaining(
    *, minimum_lesson_percent: int, lesson_minutes: int, first_opened_at: datetime, now: datetime
) -> int:
    """Whole seconds before the lesson may be marked read; 0 when it may. Measured by the server from
    the first opening, never from what the browser reports."""
    required = lesson_minimum_seconds(
        minimum_lesson_percent=minimum_lesson_percent, lesson_minutes=lesson_minutes
    )
    return max(0, math.ceil(required - (now - first_opened_at).total_seconds()))


def recorded_lesson_seconds(*, lesson_minutes: int, first_opened_at: datetime, completed_at: datetime) -> int:
    """The reading time a completion records: open to completion, capped at the lesson's estimate (a
    tab left open overnight does not earn more than the lesson is worth)."""
    return max(0, min(int((completed_at - first_opened_at).total_seconds()), lesson_minutes * 60))
