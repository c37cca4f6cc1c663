"""The page state a refusal reaches when no view handles it (core.middleware.DomainErrorMiddleware): the
branded error page with the refusal's own message and status, on a desktop and a 375 px phone, with no
Content-Security-Policy violation and no serious axe finding."""

import pytest
from django.urls import include, path

from courses.errors import CourseError
from tests.factories import UserFactory

from .conftest import axe_violations, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's


class RecordClosed(CourseError):
    http_status = 409
    code = "record_closed"


def _refusing_view(request):
    raise RecordClosed("This enrollment was closed by your supervisor on 2 March; nothing more can be saved.")


urlpatterns = [path("refused/", _refusing_view), path("", include("elearn.urls"))]
handler404 = "core.error_pages.not_found"


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(("name", "width"), [("desktop", 1100), ("phone", 375)])
def test_a_refusal_nobody_handles_is_the_branded_page_with_its_message(live_server, chromium, name, width):
    UserFactory(username="closed-learner")
    context = chromium.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    from tests.browser import watch_csp

    violations = watch_csp(context, page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "closed-learner")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    response = page.goto(f"{live_server.url}/refused/")
    assert response.status == 409
    assert page.locator("h1").inner_text() == "This cannot be done now"
    assert "closed by your supervisor on 2 March" in page.locator("main").inner_text()
    assert page.locator("a", has_text="Go to my courses").is_visible()
    scroll, client = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll <= client, "sideways scroll"
    assert axe_violations(page) == []
    screenshot(page, f"refusal-page-{name}")
    context.close()
    assert not violations, f"Content-Security-Policy violations: {violations}"
