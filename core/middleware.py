import logging

from django.db import OperationalError, close_old_connections
from django.http import JsonResponse
from django.template.response import SimpleTemplateResponse

logger = logging.getLogger(__name__)


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
        # Drop the broken connection so the next request reconnects instead of failing again. Best
        # effort: closing a connection to a database that is down can raise too, and must not turn the
        # 503 into a 500.
        try:
            close_old_connections()
        except Exception:
            logger.warning("could not close the broken database connection", exc_info=True)
        return database_unavailable_response(request)


def database_unavailable_response(request):
    from .errors import DatabaseUnavailable

    error = DatabaseUnavailable()
    if wants_json(request):
        return domain_error_response(request, error)
    # Not the error page: it would need the session and the user, which live in the database.
    response = SimpleTemplateResponse("503.html", {"message": error.message}, status=error.http_status)
    response.render()
    response["Retry-After"] = str(error.retry_after)
    return response


class DomainErrorMiddleware:
    """The pages' one handler for domain errors (core.errors.DomainError) a view does not handle itself:
    the branded error page with the error's status and its message for people; a 404 is the same page
    as any missing page (nothing tells a forbidden record from a missing one); htmx requests get the
    message as text and API-shaped requests the API body."""

    TITLES = {
        400: "This could not be done",
        403: "You cannot do this",
        409: "This cannot be done now",
        429: "Too many requests",
    }

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from .errors import DomainError

        if not isinstance(exception, DomainError):
            return None
        return domain_error_response(request, exception)


def domain_error_response(request, error):
    from django.http import HttpResponse
    from django.shortcuts import render

    from .health import not_found

    if wants_json(request):
        response = JsonResponse(error.payload(), status=error.http_status)
        if error.retry_after is not None:
            response["Retry-After"] = str(error.retry_after)
        return response
    if error.http_status == 404:
        return not_found(request)
    if request.headers.get("HX-Request"):
        return HttpResponse(error.message, status=error.http_status, content_type="text/plain; charset=utf-8")
    title = DomainErrorMiddleware.TITLES.get(error.http_status, DomainErrorMiddleware.TITLES[400])
    context = {"error_code": error.http_status, "error_title": title, "error_text": error.message}
    return render(request, "error_page.html", context, status=error.http_status)


def wants_json(request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")
