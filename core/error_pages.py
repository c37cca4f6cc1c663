"""Error pages and error responses in one place: handler404 and handler500, the 503 of a database outage,
and the answer to a domain error (core.errors.DomainError) on a page, an htmx request or the API. The
middleware and the access checks use them; this module imports nothing of core but the error model
(so the probes, the middleware and the handlers import in one direction)."""

import sys

from django.db import OperationalError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.response import SimpleTemplateResponse
from django.views.defaults import page_not_found
from django.views.defaults import server_error as default_server_error

from .errors import DatabaseUnavailable

TITLES = {
    400: "This could not be done",
    403: "You cannot do this",
    409: "This cannot be done now",
    429: "Too many requests",
}


def database_unavailable_response(request):
    error = DatabaseUnavailable()
    if wants_json(request):
        return domain_error_response(request, error)
    # Not the error page: it would need the session and the user, which live in the database.
    response = SimpleTemplateResponse("503.html", {"message": error.message}, status=error.http_status)
    response.render()
    response["Retry-After"] = str(error.retry_after)
    return response


def domain_error_response(request, error):
    if wants_json(request):
        response = JsonResponse(error.payload(), status=error.http_status)
        if error.retry_after is not None:
            response["Retry-After"] = str(error.retry_after)
        return response
    if error.http_status == 404:
        return not_found(request)
    if request.headers.get("HX-Request"):
        return HttpResponse(error.message, status=error.http_status, content_type="text/plain; charset=utf-8")
    title = TITLES.get(error.http_status, TITLES[400])
    context = {"error_code": error.http_status, "error_title": title, "error_text": error.message}
    return render(request, "error_page.html", context, status=error.http_status)


def wants_json(request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def server_error(request, *args, **kwargs):
    """handler500: errors raised outside views (session save, middleware) still map outages to 503."""
    exc = sys.exc_info()[1]
    if isinstance(exc, OperationalError):
        return database_unavailable_response(request)
    return default_server_error(request, *args, **kwargs)


def not_found(request, exception=None):
    """handler404: an unknown URL under /api/ answers JSON like every other API error; pages get the
    usual 404 page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return page_not_found(request, exception)
