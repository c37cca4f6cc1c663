"""The one meaning of progress. Pure: raw facts in, progress out.

- A lesson is read when its LessonProgress on the enrollment has `completed_at`.
- A quiz is passed when an attempt submitted during this enrollment scored at or above the pass mark
  with no critical question missed (the quiz engine stores that as `Attempt.passed`).
- A course is complete when every lesson is read, every module quiz and the final exam are passed, and
  every required skill sign-off exists. A clinical update made only of changed questions has no lesson:
  it is complete when its quiz is passed (an enrollment with nothing to do is never complete).
"""

from dataclasses import dataclass


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
