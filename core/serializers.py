"""Response schemas shared by every API: the one error body (core.errors, core.api.exception_handler).

The API's response serializers document what a view answers in /api/schema/ (drf-spectacular); the
schemathesis suite (tests/security/test_api_fuzzing.py) holds every response body against them. On
the hot paths (autosave, submit, attempt read, verification) the view still builds its dict directly and
the serializer only documents it, so documenting costs no query and no CPU per request."""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, written for people.")
    code = serializers.CharField(help_text="A stable machine code, e.g. `not_found`, `attempt_closed`.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Per-field messages, when the input was at fault.",
    )


def error(description: str, serializer=ErrorSerializer) -> OpenApiResponse:
    return OpenApiResponse(serializer, description=description)


NOT_FOUND = error("Not found (also what a record someone else owns answers: the same body)")
BAD_REQUEST = error("Invalid input: `errors` names the fields")
CONFLICT = error("The record's state refuses this now")
