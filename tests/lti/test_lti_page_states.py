"""Every state of the LTI pages renders (one row per state): the roster page and the deep-linking page."""

import pytest
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.utils import timezone
from pylti1p3.exception import LtiException

from accounts.models import Role
from lti import passback
from lti.models import Platform, ResourceLink
from lti.selectors import CourseChoice, QuizChoice
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.lti]


def _raise(link):
    raise LtiException("HTTP response [x]: 401 - no")


@pytest.mark.parametrize(
    ("state", "memberships_url", "roster", "expected"),
    [
        (
            "members",
            "https://lms.example/m",
            lambda link: [passback.Member("u1", "Rae Rivera", "r@x.org", ["Learner"], "Active")],
            "Rae Rivera",
        ),
        ("empty", "https://lms.example/m", lambda link: [], "The LMS course has nobody in it."),
        ("no service", "", lambda link: [], "did not offer its roster service"),
        ("platform error", "https://lms.example/m", _raise, "The LMS did not answer the roster request"),
    ],
)
def test_roster_page_states(monkeypatch, tmp_path, state, memberships_url, roster, expected):
    from tests.course_helpers import load_tiny

    course = load_tiny(tmp_path).course
    platform = Platform.objects.create(
        name="LMS",
        issuer="https://lms.example",
        client_id="c",
        auth_login_url="https://lms.example/a",
        auth_token_url="https://lms.example/t",
        jwks_url="https://lms.example/j",
    )
    link = ResourceLink.objects.create(
        platform=platform,
        deployment_id="d",
        resource_link_id="r",
        course=course,
        memberships_url=memberships_url,
        updated_at=timezone.now(),
    )
    monkeypatch.setattr(passback, "roster", roster)
    client = Client()
    client.force_login(UserFactory(role=Role.SUPERVISOR))
    response = client.get(f"/lti/links/{link.pk}/roster/")
    assert response.status_code == 200, state
    assert expected in response.content.decode(), state


@pytest.mark.parametrize(
    ("state", "choices", "expected"),
    [
        (
            "courses to choose",
            [
                CourseChoice(
                    "c", "Course C", [QuizChoice("q", "Quiz Q", False), QuizChoice("f", "Final", True)]
                )
            ],
            "Final (final exam)",
        ),
        ("nothing published", [], "No course runs here yet"),
    ],
)
def test_deep_link_page_states(state, choices, expected):
    request = RequestFactory().get("/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    html = render_to_string(
        "lti/deep_link.html", {"launch_token": "lti1p3-launch-x", "choices": choices}, request
    )
    assert expected in html, state
    assert "csrfmiddlewaretoken" not in html  # shown in the LMS's frame: authorised by the launch id
