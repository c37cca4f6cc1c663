import logging

from django.db import OperationalError, close_old_connections
from django.http import JsonResponse
from django.template.response import SimpleTemplateResponse

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = "5"


class ProbeMiddleware:
    """/healthz and /readyz answered before anything else (first in MIDDLEWARE).

    Load balancers and orchestrators probe over plain HTTP behind the TLS proxy, by address rather than
    by the public host name, and without X-Forwarded-Proto. Ahead of SecurityMiddleware the probes are
    not redirected to HTTPS (SECURE_SSL_REDIRECT still redirects every other path), and ahead of
    CommonMiddleware no Host check turns a probe by IP into a 400. They touch no session, user or CSRF
    state, so a probe is also the cheapest request the stack can answer."""

    def __init__(self, get_response):
        from . import health

        self.get_response = get_response
        self.probes = {"/healthz": health.healthz, "/readyz": health.readyz}

    def __call__(self, request):
        probe = self.probes.get(request.path_info)
        if probe is not None:
            return probe(request)
        return self.get_response(request)


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
