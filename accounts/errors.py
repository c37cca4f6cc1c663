"""The accounts app's family of domain errors (core.errors.DomainError): login, second factor, access."""

from core.errors import DomainError


class AccountError(DomainError):
    code = "account_error"


class LoginThrottled(AccountError):
    """Too many failed logins for this username or address (accounts.login_throttle)."""

    http_status = 429
    code = "too_many_failed_logins"

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class SecondFactorEnrolmentRequired(AccountError):
    http_status = 403
    code = "mfa_enrolment_required"


class SecondFactorRefused(AccountError):
    """The second-factor code is missing or wrong; counted as a failed login."""

    code = "invalid_otp"

    def __init__(self, message: str):
        super().__init__(message, field_errors={"otp": [message]})


class SessionNotVerified(AccountError):
    http_status = 403
    code = "mfa_required"


class ReadOnlyRefused(AccountError):
    http_status = 403
    code = "read_only"


class ScopeRefused(AccountError):
    code = "scope_refused"
