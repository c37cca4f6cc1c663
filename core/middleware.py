import logging

from django.db import OperationalError, close_old_connections

from .error_pages import database_unavailable_response, domain_error_response

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


class DomainErrorMiddleware:
    """The pages' one handler for domain errors (core.errors.DomainError) a view does not handle itself:
    the branded error page with the error's status and its message for people; a 404 is the same page
    as any missing page (nothing tells a forbidden record from a missing one); htmx requests get the
    message as text and API-shaped requests the API body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from .errors import DomainError

        if not isinstance(exception, DomainError):
            return None
        return domain_error_response(request, exception)
