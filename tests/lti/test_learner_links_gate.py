"""The SQL gate in front of the score passback answers exactly what the ORM filter it guards answers."""

import pytest
from django.utils import timezone

from lti.models import Platform, PlatformUser, ResourceLink
from lti.selectors import learner_has_quiz_links
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _orm_answer(*, quiz_key, user_id) -> bool:
    return ResourceLink.objects.filter(
        quiz_key=quiz_key, learners__user_id=user_id, platform__is_active=True
    ).exists()


@pytest.fixture
def loaded_course(tmp_path):
    from tests.course_helpers import load_tiny

    return load_tiny(tmp_path).course


CASES = [
    # (who asks, which quiz, platform active) -> expected
    ("learner", "ds-quiz", True, True),
    ("learner", "ds-quiz", False, False),
    ("learner", "other-quiz", True, False),
    ("other", "ds-quiz", True, False),
]


@pytest.mark.parametrize(("who", "quiz_key", "active", "expected"), CASES)
def test_gate_agrees_with_the_orm_filter(who, quiz_key, active, expected, loaded_course):
    now = timezone.now()
    platform = Platform.objects.create(
        name="LMS",
        issuer="https://lms.example",
        client_id="c",
        auth_login_url="https://lms.example/a",
        auth_token_url="https://lms.example/t",
        jwks_url="https://lms.example/j",
        is_active=active,
    )
    learner, other = UserFactory(), UserFactory()
    identity = PlatformUser.objects.create(
        platform=platform, deployment_id="d", sub="s", user=learner, created_at=now, last_launch_at=now
    )
    link = ResourceLink.objects.create(
        platform=platform,
        deployment_id="d",
        resource_link_id="r",
        course=loaded_course,
        quiz_key="ds-quiz",
        updated_at=now,
    )
    link.learners.add(identity)
    user_id = {"learner": learner.pk, "other": other.pk}[who]
    assert learner_has_quiz_links(quiz_key=quiz_key, user_id=user_id) is expected
    assert _orm_answer(quiz_key=quiz_key, user_id=user_id) is expected
