import logging

from django.db import OperationalError, close_old_connections
from django.http import JsonResponse
from django.template.response import SimpleTemplateResponse

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = "5"


class DatabaseUnavailableMiddleware:
    """A database outage is a temporary condition: answer 503 with Retry-After, never a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError):
            return None
        logger.warning("database unavailable on %s: %s", request.path, exception)
        # Drop the broken connection so the next request reconnects instead of failing again.
        close_old_connections()
        return database_unavailable_response(request)


def database_unavailable_response(request):
    message = "The training database is briefly unavailable. Your saved work is safe; try again shortly."
    wants_json = request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")
    if wants_json:
        response = JsonResponse({"detail": message, "code": "database_unavailable"}, status=503)
    else:
        response = SimpleTemplateResponse("503.html", {"message": message}, status=503)
        response.render()
    response["Retry-After"] = RETRY_AFTER_SECONDS
    return response
