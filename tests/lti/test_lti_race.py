"""Two first launches of one LMS user at the same moment (PostgreSQL, two connections): one account,
one link, both launches signed in as it."""

import time

import pytest
from django.db import transaction

from accounts.models import User
from lti import services
from lti.models import Deployment, Platform, PlatformUser
from tests.concurrency import run_together
from tests.course_helpers import load_tiny

pytestmark = [pytest.mark.lti, pytest.mark.django_db(transaction=True)]


def test_two_simultaneous_first_launches_make_one_account(tmp_path):
    tiny = load_tiny(tmp_path)
    with transaction.atomic():
        platform = Platform.objects.create(
            name="LMS",
            issuer="https://lms.example",
            client_id="c",
            auth_login_url="https://lms.example/a",
            auth_token_url="https://lms.example/t",
            jwks_url="https://lms.example/j",
        )
        Deployment.objects.create(platform=platform, deployment_id="d")
    now = int(time.time())
    claims = {
        "iss": "https://lms.example",
        "aud": "c",
        "sub": "lms-user-9",
        "iat": now,
        "exp": now + 60,
        "email": "nine@example.org",
        services.DEPLOYMENT_ID: "d",
        services.RESOURCE_LINK: {"id": "link-1"},
        services.CUSTOM: {"course": tiny.course.slug},
    }
    results, errors = run_together(
        lambda: services.resource_launch(claims=claims), lambda: services.resource_launch(claims=claims)
    )
    assert errors == [None, None], errors
    assert results[0].user.pk == results[1].user.pk
    assert User.objects.filter(email="nine@example.org").count() == 1
    assert PlatformUser.objects.count() == 1
