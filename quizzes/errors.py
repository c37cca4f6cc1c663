"""Domain errors of the quiz engine. The API maps `http_status`; pages show `message`."""

from datetime import datetime


class QuizError(Exception):
    http_status = 400
    code = "quiz_error"

    def __init__(self, message: str, **extra):
        super().__init__(message)
        self.message = message
        self.extra = extra


class AttemptNotFound(QuizError):
    """Missing and forbidden look the same: nobody learns that someone else's attempt exists."""

    http_status = 404
    code = "not_found"


class StartRefused(QuizError):
    """The start rule (quizzes.eligibility) refused a start; `state` is its state name, `retry_at` when
    the next start becomes possible (None: not by waiting)."""

    http_status = 409

    def __init__(self, message: str, *, eligibility=None, retry_at: datetime | None = None):
        retry_at = retry_at or (eligibility.next_start_at if eligibility is not None else None)
        super().__init__(message, retry_at=retry_at)
        self.eligibility = eligibility
        self.retry_at = retry_at
        self.state = str(eligibility.state) if eligibility is not None else self.code


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
        self.field_errors = field_errors


class ContentError(QuizError):
    """Invalid question or quiz content; `problems` lists every problem found, with its location."""

    code = "invalid_content"

    def __init__(self, problems: list[str]):
        super().__init__("Invalid content:\n- " + "\n- ".join(problems), problems=problems)
        self.problems = problems
