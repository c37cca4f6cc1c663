"""One error model (issue 19): every refusal of the apps derives from core.errors.DomainError, and one
handler each (core.api for the API, core.middleware.DomainErrorMiddleware for pages) maps it to a
status and a message."""

import importlib
import inspect
import pkgutil

import pytest
from django.db import OperationalError
from django.test import override_settings
from django.urls import include, path
from rest_framework.views import APIView

from core.errors import DomainError
from courses.errors import CourseError
from quizzes.errors import AttemptNotFound, CoolingDown
from tests.factories import UserFactory

# Exceptions that are not refusals a person sees: parsing internals caught inside their own module,
# infrastructure failures retried by tasks, a management command's own error.
NOT_DOMAIN_ERRORS = {
    "courses.catalog.exchange.common.Malformed",  # caught by the parser, reported per question
    "courses.assignments.reminders.MailUnavailable",  # the mail server is down: the task retries
    "courses.certificates.services.BlockedURL",  # WeasyPrint's fetcher refusing a URL inside a render
    "courses.management.commands.generate_demo_org.DemoOrgExists",  # a CommandError
    "frontend.forms.FormAnswerError",  # a form field that is not an answer; the page re-renders it
    "authoring.documents._Rollback",  # control flow: undoes a trial load
    "sso.provider.ProviderUnavailable",  # the identity provider is down: shown as a refusal by the view
    "xapi.sender.Unavailable",  # the LRS is down: the outbox retries
}


def exception_classes():
    for app in ("accounts", "authoring", "core", "courses", "quizzes", "frontend", "sso", "lti", "xapi"):
        package = importlib.import_module(app)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{app}."):
            if ".migrations" in info.name or info.name.endswith("tests"):
                continue
            module = importlib.import_module(info.name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, Exception) and cls.__module__ == info.name:
                    yield f"{info.name}.{cls.__name__}", cls


def test_every_error_of_the_apps_is_a_domain_error():
    found = dict(exception_classes())
    assert "quizzes.errors.QuizError" in found and "courses.errors.CourseError" in found  # the walk works
    parallel = sorted(
        name
        for name, cls in found.items()
        if not issubclass(cls, DomainError) and name not in NOT_DOMAIN_ERRORS
    )
    assert parallel == []
    assert set(found) >= NOT_DOMAIN_ERRORS  # the allow-list names classes that exist


class Refused(CourseError):
    http_status = 409
    code = "refused_for_the_test"


def _page_raising(error):
    def view(request):
        raise error

    return view


class _ApiRaising(APIView):
    error: Exception

    def get(self, request):
        raise self.error


ERRORS = {
    "conflict": Refused("Not now: the record is closed."),
    "not_found": AttemptNotFound("No such attempt."),
    "fields": CourseError("Please correct the form.", field_errors={"date": "Required."}),
    "start": CoolingDown("Wait an hour."),
    "database": OperationalError("connection refused"),
}
urlpatterns = (
    [path(f"page/{name}/", _page_raising(error)) for name, error in ERRORS.items()]
    + [
        path(f"api/{name}/", type(name, (_ApiRaising,), {"error": error}).as_view())
        for name, error in ERRORS.items()
    ]
    + [path("", include("elearn.urls"))]
)  # the pages' links (header, error page) resolve as in the product
handler404 = "core.error_pages.not_found"


@pytest.fixture
def logged_in(client, db):
    client.force_login(UserFactory())
    return client


@override_settings(ROOT_URLCONF=__name__)
@pytest.mark.parametrize(
    ("name", "status", "body"),
    [
        ("conflict", 409, {"detail": "Not now: the record is closed.", "code": "refused_for_the_test"}),
        ("not_found", 404, {"detail": "No such attempt.", "code": "not_found"}),
        (
            "fields",
            400,
            {"detail": "Please correct the form.", "code": "course_error", "errors": {"date": ["Required."]}},
        ),
        (
            "start",
            409,
            {
                "detail": "Wait an hour.",
                "code": "cooling_down",
                "state": "cooling_down",
                "reason": "Wait an hour.",
            },
        ),
    ],
)
def test_the_api_answers_a_domain_error_with_its_status_and_body(logged_in, name, status, body):
    response = logged_in.get(f"/api/{name}/")
    assert response.status_code == status
    assert response.json() == body


@override_settings(ROOT_URLCONF=__name__)
def test_a_database_outage_in_the_api_is_a_503_in_the_same_shape(logged_in):
    response = logged_in.get("/api/database/")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response.json()["code"] == "database_unavailable" and set(response.json()) == {"detail", "code"}


@override_settings(ROOT_URLCONF=__name__)
def test_a_page_shows_the_message_of_a_refusal_on_the_branded_error_page(logged_in):
    conflict = logged_in.get("/page/conflict/")
    fields = logged_in.get("/page/fields/")
    htmx = logged_in.get("/page/conflict/", HTTP_HX_REQUEST="true")
    missing = logged_in.get("/page/not_found/")
    assert conflict.status_code == 409
    assert "Not now: the record is closed." in conflict.content.decode()
    assert "Error 409" in conflict.content.decode()
    assert fields.status_code == 400 and "Please correct the form." in fields.content.decode()
    assert htmx.status_code == 409 and htmx.content.decode() == "Not now: the record is closed."
    # A refused "not found" is the same page as a missing one: nothing tells the two apart.
    nowhere = logged_in.get("/no-such-page-at-all/")
    assert missing.status_code == 404 == nowhere.status_code
    assert missing.content == nowhere.content
