"""The whole LTI round trip in a real browser (Debian's Chromium): the simulated LMS page starts the
login, the platform's auth endpoint posts the signed launch back, an instructor places a quiz through the
deep-linking page and the response posts back to the LMS, then a learner opens the placed quiz from the
LMS and lands on it signed in. No Content-Security-Policy violation on the tool's pages."""

from pathlib import Path

import pytest
import requests
from django.test import Client

from accounts.models import Role
from lti.models import PlatformUser, ResourceLink
from tests.browser import watch_csp
from tests.course_helpers import load_tiny
from tests.factories import UserFactory
from tests.lti.conftest import INSTRUCTOR_ROLE, register_simulator

pytestmark = [pytest.mark.e2e, pytest.mark.lti]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"lti-{name}.png"), full_page=True)


def test_instructor_places_a_quiz_and_a_learner_opens_it_from_the_lms(
    live_server, chromium, lti_simulator_url, tmp_path
):
    # One host for both (ports differ): a browser on plain HTTP keeps a cookie without SameSite=None
    # for same-site requests only; over HTTPS the state cookie is SameSite=None; Secure (unit test).
    tool = live_server.url.replace("localhost", "127.0.0.1")
    tiny = load_tiny(tmp_path)
    quiz = tiny.modules[1].quiz
    sim = register_simulator(
        lti_simulator_url, tool_base=tool, tool_jwks=requests.get(f"{tool}/lti/jwks/", timeout=5).json()
    )

    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    violations = watch_csp(context, page)
    hint = sim.prepare(sub="lms-teacher", message_type="LtiDeepLinkingRequest", roles=[INSTRUCTOR_ROLE])
    page.goto(f"{sim.url}/sim/start?hint={hint}")
    page.wait_for_url(f"{tool}/lti/launch/")
    page.get_by_role("heading", name="Add training to your LMS course").wait_for()
    shot(page, "deep-link-picker")
    page.get_by_label(quiz.title).check()
    page.get_by_role("button", name="Add to the LMS course").click()
    page.wait_for_url(f"{sim.url}/deep_link_return")
    assert "Added." in page.content()
    [response] = sim.state()["deep_link_responses"]
    [item] = response["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert item["custom"] == {"course": tiny.course.slug, "quiz": quiz.key}
    context.close()

    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    violations += watch_csp(context, page)
    hint = sim.prepare(
        sub="lms-user-1", email="rae@example.org", given_name="Rae", custom=item["custom"], lineitem="1"
    )
    page.goto(f"{sim.url}/sim/start?hint={hint}")
    page.wait_for_url(f"{tool}/quizzes/{quiz.pk}/")
    page.get_by_role("heading", name=quiz.title).first.wait_for()
    shot(page, "learner-lands-on-quiz")
    learner = PlatformUser.objects.get(sub="lms-user-1").user
    assert learner.email == "rae@example.org"
    context.close()

    # An admin reads the LMS course's roster (NRPS) beside the engine's records.
    admin = Client()
    admin.force_login(UserFactory(role=Role.ADMIN))
    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": admin.cookies["sessionid"].value, "url": tool}])
    page = context.new_page()
    violations += watch_csp(context, page)
    link = ResourceLink.objects.get()
    page.goto(f"{tool}/lti/links/{link.pk}/roster/")
    page.get_by_role("heading", name="LMS roster").wait_for()
    rows = page.locator("tbody tr")
    assert rows.count() == 3
    assert learner.username in rows.nth(0).inner_text() and "Not started" in rows.nth(0).inner_text()
    assert "Not opened yet" in rows.nth(1).inner_text()
    shot(page, "roster")
    context.close()
    assert not violations, violations
