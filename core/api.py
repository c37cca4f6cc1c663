from django.db import OperationalError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .middleware import RETRY_AFTER_SECONDS


def exception_handler(exc, context):
    """DRF's handler, plus a 503 for database outages (DRF would otherwise re-raise them as 500s)."""
    if isinstance(exc, OperationalError):
        response = Response(
            {
                "detail": "The training database is briefly unavailable; try again shortly.",
                "code": "database_unavailable",
            },
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
        response["Retry-After"] = RETRY_AFTER_SECONDS
        return response
    return drf_exception_handler(exc, context)
