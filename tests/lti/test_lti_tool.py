"""The engine as an LTI 1.3 tool, against the platform simulator running as its own process
(tests/lti/platform_simulator.py): launches, deep linking, scores back, the roster, and the refusals."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests
from django.core.cache import cache
from django.test import Client, override_settings
from django.utils import timezone

from accounts.models import Role, User
from core.models import AuditEvent
from courses.models import Enrollment
from lti import keys, passback
from lti.models import PlatformUser, ResourceLink, ScoreSubmission
from tests.course_helpers import complete_course, load_tiny, read_all_lessons, take_quiz
from tests.factories import UserFactory
from tests.lti.conftest import CLIENT_ID, INSTRUCTOR_ROLE, LAUNCH_URL

pytestmark = [pytest.mark.django_db, pytest.mark.lti]


def login(client, sim, **message):
    """The platform's side of a launch: third-party login initiation at the tool, the tool's redirect to
    the platform's auth endpoint, and the auto-posting form the platform answers with."""
    hint = sim.prepare(**message)
    start = client.get(
        "/lti/login/",
        {
            "iss": sim.url,
            "login_hint": message.get("sub", "lms-user-1"),
            "target_link_uri": LAUNCH_URL,
            "lti_message_hint": hint,
            "client_id": CLIENT_ID,
        },
    )
    assert start.status_code == 302, start.content.decode()
    assert start["Location"].startswith(f"{sim.url}/auth?")
    answer = requests.get(start["Location"], timeout=5)
    assert answer.status_code == 200, answer.text
    return dict(re.findall(r'name="(id_token|state)" value="([^"]+)"', answer.text))


def launch(client, sim, **message):
    return client.post("/lti/launch/", login(client, sim, **message))


@pytest.fixture
def course(tmp_path):
    return load_tiny(tmp_path)


def test_resource_launch_provisions_signs_in_and_enrolls(client, lti_platform, course):
    response = launch(
        client,
        lti_platform,
        sub="lms-user-1",
        email="rae@example.org",
        given_name="Rae",
        family_name="Rivera",
        custom={"course": course.course.slug},
    )
    assert response.status_code == 302 and response["Location"] == f"/courses/{course.course.slug}/"
    user = User.objects.get(email="rae@example.org")
    assert (user.first_name, user.role, user.has_usable_password()) == ("Rae", Role.LEARNER, False)
    assert Enrollment.objects.filter(user=user, course=course.course).count() == 1
    assert client.get(response["Location"]).context["user"] == user  # signed in
    identity = PlatformUser.objects.get(user=user)
    assert (identity.platform, identity.deployment_id, identity.sub) == (
        lti_platform.platform,
        "deployment-1",
        "lms-user-1",
    )
    actions = set(AuditEvent.objects.filter(subject_user_id=user.pk).values_list("action", flat=True))
    assert {"user.provisioned", "lti.user_linked", "lti.launch"} <= actions

    again = launch(
        Client(),
        lti_platform,
        sub="lms-user-1",
        email="rae@example.org",
        custom={"course": course.course.slug},
    )
    assert again.status_code == 302
    assert User.objects.filter(email="rae@example.org").count() == 1  # matched by the platform's user id


def test_existing_learner_matched_by_email_but_never_a_privileged_or_deactivated_account(
    client, lti_platform, course
):
    learner = UserFactory(email="lee@example.org", role=Role.LEARNER)
    assert (
        launch(
            client, lti_platform, sub="u-lee", email="LEE@example.org", custom={"course": course.course.slug}
        ).status_code
        == 302
    )
    assert PlatformUser.objects.get(sub="u-lee").user == learner

    UserFactory(email="boss@example.org", role=Role.ADMIN)
    refused = launch(
        Client(), lti_platform, sub="u-boss", email="boss@example.org", custom={"course": course.course.slug}
    )
    assert refused.status_code == 403 and "staff powers" in refused.content.decode()

    UserFactory(email="gone@example.org", is_active=False)
    refused = launch(
        Client(), lti_platform, sub="u-gone", email="gone@example.org", custom={"course": course.course.slug}
    )
    assert refused.status_code == 403 and "deactivated" in refused.content.decode()
    assert not PlatformUser.objects.filter(sub__in=["u-boss", "u-gone"]).exists()


def test_quiz_score_arrives_at_the_line_item_with_the_grading_time(
    client, lti_platform, course, django_capture_on_commit_callbacks
):
    quiz = course.modules[0].quiz
    response = launch(
        client,
        lti_platform,
        email="rae@example.org",
        lineitem="1",
        custom={"course": course.course.slug, "quiz": quiz.key},
    )
    assert response.status_code == 302 and response["Location"] == f"/quizzes/{quiz.pk}/"
    user = User.objects.get(email="rae@example.org")
    read_all_lessons(user, course.version)
    with django_capture_on_commit_callbacks(execute=True):
        wrong = take_quiz(user, quiz, course.specs, correct=False)
    with django_capture_on_commit_callbacks(execute=True):
        right = take_quiz(user, quiz, course.specs, correct=True)
    scores = lti_platform.state()["scores"]
    assert [s["lineitem"] for s in scores] == ["1", "1"]
    # the quiz's grading rule (highest) decides what the gradebook gets, timed at each grading
    assert [s["scoreGiven"] for s in scores] == [float(wrong.score), float(right.score)] == [0.0, 100.0]
    assert {
        (s["scoreMaximum"], s["userId"], s["activityProgress"], s["gradingProgress"]) for s in scores
    } == {(100.0, "lms-user-1", "Completed", "FullyGraded")}
    assert scores[1]["timestamp"] == right.submitted_at.isoformat(timespec="milliseconds")
    assert set(ScoreSubmission.objects.values_list("status", flat=True)) == {"sent"}


def test_course_completion_goes_to_a_line_item_the_tool_creates(
    client, lti_platform, course, django_capture_on_commit_callbacks
):
    assert (
        launch(
            client, lti_platform, resource_link_id="link-9", custom={"course": course.course.slug}
        ).status_code
        == 302
    )
    user = PlatformUser.objects.get(sub="lms-user-1").user
    with django_capture_on_commit_callbacks(execute=True):
        complete_course(user, course.version, course.specs)
    state = lti_platform.state()
    created = [i for i, item in state["lineitems"].items() if item.get("resourceLinkId") == "link-9"]
    assert len(created) == 1
    completion = [s for s in state["scores"] if s["lineitem"] == created[0]]
    enrollment = Enrollment.objects.get(user=user)
    assert [(s["scoreGiven"], s["scoreMaximum"]) for s in completion] == [(1.0, 1.0)]
    assert completion[0]["timestamp"] == enrollment.completed_at.isoformat(timespec="milliseconds")


def test_a_score_the_platform_refuses_is_retried_until_it_is_taken(
    client, lti_platform, course, django_capture_on_commit_callbacks, monkeypatch
):
    from elearn.celery import app

    # Eager mode runs a retry at once (no countdown) only when it does not propagate the Retry itself.
    monkeypatch.setitem(app.conf, "task_eager_propagates", False)
    quiz = course.modules[0].quiz
    launch(client, lti_platform, lineitem="1", custom={"course": course.course.slug, "quiz": quiz.key})
    user = PlatformUser.objects.get(sub="lms-user-1").user
    read_all_lessons(user, course.version)
    lti_platform.fail_next_scores(2)
    with django_capture_on_commit_callbacks(execute=True):
        take_quiz(user, quiz, course.specs)
    submission = ScoreSubmission.objects.get()
    assert (submission.status, submission.tries) == ("sent", 3)
    assert [s["scoreGiven"] for s in lti_platform.state()["scores"]] == [100.0]
    retries = AuditEvent.objects.filter(action="lti.score_retry").count()
    assert retries == 2


def test_deep_linking_lets_an_instructor_place_a_quiz(client, lti_platform, course):
    quiz = course.modules[1].quiz
    picker = launch(
        client, lti_platform, sub="lms-teacher", message_type="LtiDeepLinkingRequest", roles=[INSTRUCTOR_ROLE]
    )
    assert picker.status_code == 200
    page = picker.content.decode()
    assert course.course.title in page and quiz.title in page
    assert f"frame-ancestors {lti_platform.url}" in picker["Content-Security-Policy"]
    token = re.search(r'name="launch" value="([^"]+)"', page).group(1)

    chosen = client.post("/lti/deep-link/", {"launch": token, "choice": f"{course.course.slug}:{quiz.key}"})
    assert chosen.status_code == 200
    html = chosen.content.decode()
    action = re.search(r'<form method="post" action="([^"]+)"', html).group(1)
    assert action == f"{lti_platform.url}/deep_link_return"
    assert "form-action 'self' " + lti_platform.url in chosen["Content-Security-Policy"]
    jwt_value = re.search(r'name="JWT" value="([^"]+)"', html).group(1)
    assert (
        requests.post(action, data={"JWT": jwt_value}, timeout=5).status_code == 200
    )  # the platform verifies it

    [response] = lti_platform.state()["deep_link_responses"]
    [item] = response["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert item["type"] == "ltiResourceLink" and item["url"] == LAUNCH_URL
    assert item["custom"] == {"course": course.course.slug, "quiz": quiz.key}
    assert item["lineItem"]["scoreMaximum"] == 100
    assert response["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == "opaque-platform-data"
    assert AuditEvent.objects.filter(action="lti.deep_link").count() == 1
    # the choice is single use
    assert client.post("/lti/deep-link/", {"launch": token, "choice": course.course.slug}).status_code == 400


def test_a_learner_cannot_deep_link(client, lti_platform, course):
    response = launch(client, lti_platform, message_type="LtiDeepLinkingRequest")
    assert response.status_code == 403


def test_replayed_launch_is_refused(client, lti_platform, course):
    form = login(client, lti_platform, custom={"course": course.course.slug})
    assert client.post("/lti/launch/", form).status_code == 302
    replay = client.post("/lti/launch/", form)
    assert replay.status_code == 403 and "Invalid Nonce" in replay.content.decode()


@override_settings(LTI_NONCE_SECONDS=1)
def test_expired_nonce_or_token_is_refused(client, lti_platform, course):
    import time

    form = login(client, lti_platform, custom={"course": course.course.slug})
    time.sleep(1.2)  # the nonce the tool remembered has expired
    late = client.post("/lti/launch/", form)
    assert late.status_code == 403 and "Invalid Nonce" in late.content.decode()

    expired = launch(client, lti_platform, exp_offset=-30, custom={"course": course.course.slug})
    assert expired.status_code == 403 and "expired" in expired.content.decode()
    assert not PlatformUser.objects.exists()


def test_unregistered_deployment_and_foreign_signature_and_missing_state_cookie_are_refused(
    client, lti_platform, course
):
    other_deployment = launch(
        client, lti_platform, deployment_id="deployment-X", custom={"course": course.course.slug}
    )
    assert (
        other_deployment.status_code == 403
        and "Unable to find deployment" in other_deployment.content.decode()
    )

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    forged = launch(
        client, lti_platform, signing_key_pem=stranger.decode(), custom={"course": course.course.slug}
    )
    assert forged.status_code == 403 and "Signature verification failed" in forged.content.decode()

    form = login(client, lti_platform, custom={"course": course.course.slug})
    assert Client().post("/lti/launch/", form).status_code == 403  # another browser: no state cookie
    assert not PlatformUser.objects.exists()


def test_a_launch_signed_for_another_tool_is_refused(client, lti_platform, course):
    other = launch(
        client,
        lti_platform,
        target_link_uri="https://other-tool.example/launch",
        custom={"course": course.course.slug},
    )
    assert other.status_code == 403 and "another tool" in other.content.decode()
    assert not PlatformUser.objects.exists()


def test_unknown_platform_is_refused_at_login(client, lti_platform):
    response = client.get(
        "/lti/login/", {"iss": "https://lms.elsewhere.example", "login_hint": "x", "client_id": "y"}
    )
    assert response.status_code == 400 and "not registered" in response.content.decode()


def test_roster_from_the_membership_service(client, lti_platform, course):
    launch(client, lti_platform, custom={"course": course.course.slug})
    link = ResourceLink.objects.get()
    members = passback.roster(link)
    assert [m.name for m in members] == ["Rae Rivera", "Ola Okafor", "Tess Teacher"]  # two pages
    assert members[2].roles == ["Instructor"]

    supervisor = UserFactory(role=Role.SUPERVISOR)
    staff = Client()
    staff.force_login(supervisor)
    page = staff.get(f"/lti/links/{link.pk}/roster/")
    assert page.status_code == 200 and "Ola Okafor" in page.content.decode()
    learner = Client()
    learner.force_login(UserFactory())
    assert learner.get(f"/lti/links/{link.pk}/roster/").status_code == 403


def test_keys_rotate_and_the_old_key_stays_published_until_its_tokens_expired(db):
    now = timezone.now()
    first = keys.rotate_keys(now=now)
    second = keys.rotate_keys(now=now + timedelta(minutes=1))
    assert keys.signing_key() == second
    assert {k["kid"] for k in keys.jwks(now=now + timedelta(minutes=2))["keys"]} == {first.kid, second.kid}
    later = now + keys.retention() + timedelta(minutes=2)
    assert {k["kid"] for k in keys.jwks(now=later)["keys"]} == {second.kid}
    keys.rotate_keys(now=later)
    assert not type(first).objects.filter(pk=first.pk).exists()  # deleted once past its window
    assert AuditEvent.objects.filter(action="lti.keys_rotated").count() == 3


def test_jwks_endpoint_publishes_a_key_on_a_fresh_install(client, db):
    body = client.get("/lti/jwks/").json()
    assert [k["alg"] for k in body["keys"]] == ["RS256"] and body["keys"][0]["kid"]


def test_deep_link_choices_take_two_queries(django_assert_num_queries, tmp_path):
    from lti import selectors

    load_tiny(tmp_path / "a", slug="course-a")
    load_tiny(tmp_path / "b", slug="course-b")
    with django_assert_num_queries(2):
        choices = selectors.deep_link_choices()
    assert [c.slug for c in choices] == ["course-a", "course-b"]
    assert [q.is_final for q in choices[0].quizzes] == [False, False, True]


def test_login_initiation_sets_a_cross_site_state_cookie_over_https(lti_platform, course):
    secure = Client()
    hint = lti_platform.prepare(custom={"course": course.course.slug})
    response = secure.get(
        "/lti/login/",
        {
            "iss": lti_platform.url,
            "login_hint": "lms-user-1",
            "lti_message_hint": hint,
            "client_id": CLIENT_ID,
        },
        secure=True,
    )
    [cookie] = [c for name, c in response.cookies.items() if name.startswith("lti1p3-state-")]
    assert cookie["samesite"] == "None" and cookie["secure"] and cookie["httponly"]
    assert urlsplit(response["Location"]).netloc == urlsplit(lti_platform.url).netloc
    cache.clear()


def test_platform_registered_and_a_staff_account_linked_by_hand_in_the_admin(client, db):
    root = UserFactory(role=Role.ADMIN, is_staff=True, is_superuser=True)
    client.force_login(root)
    response = client.post(
        "/admin/lti/platform/add/",
        {
            "name": "County Moodle",
            "issuer": "https://moodle.example.org",
            "client_id": "abc123",
            "deployment_ids": "1\n2\n",
            "auth_login_url": "https://moodle.example.org/mod/lti/auth.php",
            "auth_token_url": "https://moodle.example.org/mod/lti/token.php",
            "jwks_url": "https://moodle.example.org/mod/lti/certs.php",
            "is_active": "on",
            "match_by_email": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    from lti.models import Platform

    platform = Platform.objects.get(client_id="abc123")
    assert sorted(platform.deployments.values_list("deployment_id", flat=True)) == ["1", "2"]
    assert AuditEvent.objects.filter(action="lti.platform_registered", actor=root).count() == 1
    page = client.get(f"/admin/lti/platform/{platform.pk}/change/").content.decode()
    assert "http://testserver/lti/login/" in page and "http://testserver/lti/jwks/" in page

    supervisor = UserFactory(role=Role.SUPERVISOR)
    linked = client.post(
        "/admin/lti/platformuser/add/",
        {"platform": platform.pk, "deployment_id": "1", "sub": "moodle-42", "user": supervisor.pk},
    )
    assert linked.status_code == 302
    assert PlatformUser.objects.get(sub="moodle-42").user == supervisor
    assert AuditEvent.objects.filter(
        action="lti.user_linked", actor=root, subject_user_id=supervisor.pk
    ).exists()


def test_roster_rows_show_progress_only_for_the_viewers_team(lti_platform, course, django_assert_num_queries):
    from lti import selectors

    launch(
        Client(),
        lti_platform,
        sub="lms-user-1",
        email="rae@example.org",
        custom={"course": course.course.slug},
    )
    launch(
        Client(),
        lti_platform,
        sub="lms-user-2",
        email="ola@example.org",
        custom={"course": course.course.slug},
    )
    link = ResourceLink.objects.get()
    members = passback.roster(link)
    supervisor = UserFactory(role=Role.SUPERVISOR)
    rae = User.objects.get(email="rae@example.org")
    rae.supervisor = supervisor
    rae.save(update_fields=["supervisor"])
    with django_assert_num_queries(3):
        rows = selectors.roster_rows(link=link, members=members, viewer=supervisor)
    assert [(r.member.name, r.account_label, r.status) for r in rows] == [
        ("Rae Rivera", rae.username, "Not started"),
        ("Ola Okafor", "Linked (not in your team)", ""),
        ("Tess Teacher", "Not opened yet", ""),
    ]
    admin = UserFactory(role=Role.ADMIN)
    assert [r.status for r in selectors.roster_rows(link=link, members=members, viewer=admin)][:2] == [
        "Not started",
        "Not started",
    ]


def test_management_commands_rotate_keys_and_list_the_roster(client, lti_platform, course):
    import io

    from django.core.management import call_command

    launch(client, lti_platform, custom={"course": course.course.slug})
    before = keys.signing_key().kid
    out = io.StringIO()
    call_command("rotate_lti_keys", stdout=out)
    after = keys.signing_key().kid
    assert after != before and f"signing key {after}" in out.getvalue() and before in out.getvalue()
    assert {k["kid"] for k in client.get("/lti/jwks/").json()["keys"]} == {before, after}

    # the platform learns the new key (as it would from /lti/jwks/), and services keep working
    lti_platform.learn_tool_keys(client.get("/lti/jwks/").json())
    out = io.StringIO()
    call_command("lti_roster", str(ResourceLink.objects.get().pk), stdout=out)
    assert out.getvalue().splitlines()[0].startswith("lms-user-1\tRae Rivera\trae@example.org\tLearner")


def test_the_deep_linking_page_may_be_framed_by_the_platforms_own_hosts_only():
    from django.http import HttpResponse

    from lti.views import DEEP_LINKING_SETTINGS, _framed_by

    canvas = {
        "iss": "https://canvas.instructure.com",
        DEEP_LINKING_SETTINGS: {
            "deep_link_return_url": "https://school.instructure.com/courses/1/deep_linking_response"
        },
    }
    response = _framed_by(
        HttpResponse(), claims=canvas, form_action="https://school.instructure.com/courses/1/x"
    )
    assert response._csp_replace == {
        "frame-ancestors": ["https://canvas.instructure.com", "https://school.instructure.com"],
        "form-action": ["'self'", "https://school.instructure.com"],
    }
