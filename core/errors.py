"""The one domain error model: every refusal a service raises derives from `DomainError`.

A domain error carries a stable machine `code`, a `message` written for people (pages show it as is),
optional `field_errors` (field name -> messages) and the HTTP status the API answers with. Each app
keeps its own family (`quizzes.errors.QuizError`, `courses.errors.CourseError`,
`accounts.errors.AccountError`); the mapping to responses lives in one place each:
`core.api.exception_handler` for the API and `core.middleware.DomainErrorMiddleware` for pages.

Callers decide by class (`except AttemptNotFound`), never by comparing `code` strings: the code is for
API clients. Plain Python, no Django import, so the quiz engine (a leaf) can depend on it.
"""

from collections.abc import Mapping


class DomainError(Exception):
    http_status = 400
    code = "refused"
    retry_after: int | None = None  # seconds, sent as Retry-After when set

    def __init__(self, message: str, *, field_errors: Mapping[str, object] | None = None):
        super().__init__(message)
        self.message = message
        self.field_errors = dict(field_errors or {})

    def details(self) -> dict:
        """Extra keys of the API body that a subclass documents (e.g. `retry_at`); none by default."""
        return {}

    def payload(self) -> dict:
        """The API body: `{detail, code, errors?, ...details}`, the shape `core.serializers.ErrorSerializer`
        documents."""
        body = {"detail": self.message, "code": self.code}
        if self.field_errors:
            body["errors"] = {name: as_messages(value) for name, value in self.field_errors.items()}
        body.update(self.details())
        return body


class DatabaseUnavailable(DomainError):
    """The database is briefly unreachable (an OperationalError): a temporary condition, never a 500."""

    http_status = 503
    code = "database_unavailable"
    retry_after = 5

    def __init__(self):
        super().__init__(
            "The training database is briefly unavailable. Your saved work is safe; try again shortly."
        )


def as_messages(value) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]
