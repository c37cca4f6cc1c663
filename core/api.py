"""The API's one exception handler: every error body is `{detail, code, errors?}` (plus the documented
keys of a domain error, e.g. a refused start's `state`, `reason`, `retry_at`), the shape
`core.serializers.ErrorSerializer` puts in the schema."""

from django.core.exceptions import PermissionDenied
from django.db import OperationalError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DatabaseUnavailable, DomainError, as_messages


def exception_handler(exc, context):
    """Domain errors answer their status and payload; a database outage 503 (DRF would re-raise it as
    a 500); DRF's own errors keep their status and headers with the same body shape."""
    if isinstance(exc, OperationalError):
        exc = DatabaseUnavailable()
    if isinstance(exc, DomainError):
        response = Response(exc.payload(), status=exc.http_status)
        if exc.retry_after is not None:
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, Http404):  # as DRF's own handler does, but keeping the body in the one shape
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        response.data = api_exception_body(exc)
    return response


def api_exception_body(exc: exceptions.APIException) -> dict:
    """DRF's exceptions in the one shape. A validation error's per-field messages go under `errors`
    (a list of messages without a field is under `non_field_errors`)."""
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        if isinstance(detail, dict):
            errors = {str(name): as_messages(flatten(value)) for name, value in detail.items()}
        else:
            errors = {"non_field_errors": as_messages(flatten(detail))}
        return {"detail": "Invalid input.", "code": "invalid", "errors": errors}
    codes = exc.get_codes()
    return {"detail": str(exc.detail), "code": codes if isinstance(codes, str) else exc.default_code}


def flatten(value) -> list:
    """Nested validation details (lists of dicts from list serializers) as one list of messages."""
    if isinstance(value, dict):
        return [f"{name}: {message}" for name, inner in value.items() for message in flatten(inner)]
    if isinstance(value, list | tuple):
        return [message for item in value for message in flatten(item)]
    return [value]
