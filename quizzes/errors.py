"""Domain errors of the quiz engine, one family under core.errors.DomainError: the API answers
`http_status` with `payload()` (core.api), pages show `message` (core.middleware)."""

from datetime import datetime

from core.errors import DomainError


class QuizError(DomainError):
    code = "quiz_error"


class AttemptNotFound(QuizError):
    """Missing and forbidden look the same: nobody learns that someone else's attempt exists."""

    http_status = 404
    code = "not_found"


class StartRefused(QuizError):
    """The start rule (quizzes.eligibility) refused a start; `state` is its state name, `retry_at` when
    the next start becomes possible (None: not by waiting)."""

    http_status = 409

    def __init__(self, message: str, *, eligibility=None, retry_at: datetime | None = None):
        super().__init__(message)
        self.eligibility = eligibility
        self.retry_at = retry_at or (eligibility.next_start_at if eligibility is not None else None)
        self.state = str(eligibility.state) if eligibility is not None else self.code

    def details(self) -> dict:
        # The same state name and reason the course and quiz endpoints show (quizzes.eligibility).
        extra = {"state": self.state, "reason": self.message}
        if self.retry_at is not None:
            extra["retry_at"] = self.retry_at.isoformat()
        return extra


class QuizLocked(StartRefused):
    code = "locked"


class AttemptLimitReached(StartRefused):
    code = "attempt_limit_reached"


class CoolingDown(StartRefused):
    code = "cooling_down"


class AttemptClosed(QuizError):
    http_status = 409
    code = "attempt_closed"


class DeadlinePassed(QuizError):
    http_status = 409
    code = "deadline_passed"


class InvalidAnswer(QuizError):
    http_status = 400
    code = "invalid_answer"

    def __init__(self, message: str, *, field_errors: dict[str, list[str]]):
        super().__init__(message, field_errors=field_errors)


class ContentError(QuizError):
    """Invalid question or quiz content; `problems` lists every problem found, with its location."""

    code = "invalid_content"

    def __init__(self, problems: list[str]):
        super().__init__("Invalid content:\n- " + "\n- ".join(problems))
        self.problems = problems
