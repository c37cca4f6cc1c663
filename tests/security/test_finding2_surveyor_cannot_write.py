"""Finding 2 (issue 24): surveyors could write (enrol 201, complete a lesson 200, start and submit an
attempt 201/200). One read-only rule (accounts/access.py) now refuses every write with 403, for pages
(session) and the API (session or token), and each refusal is audited."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from core.models import AuditEvent
from courses.enrollment import services as course_services
from courses.models import Enrollment, EvidencePack, ExportJob, LessonProgress
from quizzes import services as quiz_services
from quizzes.models import Attempt
from tests.security.roles import make_org
from tests.security.test_csrf import concrete_urls

pytestmark = pytest.mark.django_db

# POSTs that only produce a read for the surveyor (sign in or out, a pack or export of what they may see)
ALLOWED = {
    "/accounts/login/",
    "/accounts/logout/",
    "/team/evidence/",
    "/api/v1/auth/token/",
    "/api/v1/auth/logout/",
}
# The health probes answer ahead of every middleware and accept only GET (405 for any write): no
# write exists there to refuse.
PROBES = {"/healthz", "/readyz"}
ALLOWED_PREFIXES = ("/accounts/password", "/accounts/reset/", "/team/exports/x/", "/admin/")


@pytest.fixture
def org(tmp_path):
    return make_org(tmp_path)


def token_api(org) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {org.tokens['surveyor']}")
    return api


def test_finding2_surveyor_cannot_write_through_the_api_with_a_token(org):
    api = token_api(org)
    slug = org.tiny.course.slug
    lesson = org.tiny.modules[1].lessons.first()
    quiz = org.tiny.modules[0].quiz
    assert api.get(f"/api/v1/reports/team-progress/?course={slug}").status_code == 200  # reads still work
    enroll = api.post(f"/api/v1/courses/{slug}/enroll/")
    assert enroll.status_code == 403 and "read-only" in enroll.json()["detail"]
    assert not Enrollment.objects.filter(user=org.surveyor).exists()
    # even with an enrollment and an open attempt made for them, nothing can be written
    # (set up through the services, as an admin's bulk enrolment would: the HTTP layer is under test)
    course_services.enroll(user=org.surveyor, course=org.tiny.course)
    for read in org.tiny.modules[0].lessons.all():
        course_services.complete_lesson(user=org.surveyor, lesson_id=read.pk)
    attempt, _ = quiz_services.start_attempt(user=org.surveyor, quiz=quiz)
    question = attempt.layout["order"][0]
    for method, path, body in (
        ("post", f"/api/v1/lessons/{lesson.pk}/complete/", None),
        ("post", f"/api/v1/quizzes/{quiz.pk}/attempts/", None),
        ("put", f"/api/v1/attempts/{attempt.pk}/answers/{question}/", {"value": 1}),
        ("post", f"/api/v1/attempts/{attempt.pk}/submit/", None),
    ):
        response = getattr(api, method)(path, body, format="json")
        assert response.status_code == 403, (path, response.status_code)
    assert not LessonProgress.objects.filter(enrollment__user=org.surveyor, lesson=lesson).exists()
    attempt.refresh_from_db()
    assert attempt.is_open and not attempt.answers.exists()
    refusals = AuditEvent.objects.filter(action="access.write_refused", actor=org.surveyor)
    assert refusals.count() == 5


def test_finding2_surveyor_cannot_write_through_any_page_or_session_api(org):
    client = Client()
    client.force_login(org.surveyor)
    urls = sorted({url for url, _ in concrete_urls() if not url.startswith("/static/")})
    allowed, refused, other = [], [], []
    for url in urls:
        if url in ALLOWED or url.startswith(ALLOWED_PREFIXES):
            allowed.append(url)
            continue
        if url in PROBES:
            assert client.post(url).status_code == 405, url
            continue
        for method in ("post", "put", "patch", "delete"):
            response = getattr(client, method)(url, {"reason": "x"} if method == "post" else None)
            (refused if response.status_code == 403 else other).append((method, url, response.status_code))
    assert not other, other[:10]
    assert len(refused) >= 4 * 40
    for must in (
        "/courses/some-course/enroll/",
        "/lessons/1/read/",
        "/quizzes/1/start/",
        "/attempts/1/submit/",
        "/team/people/1/overrides/",
        "/team/signoffs/1/1/",
        "/api/v1/courses/some-course/enroll/",
    ):
        assert ("post", must, 403) in refused, must
    assert Attempt.objects.filter(user=org.surveyor).count() == 0


def test_surveyor_can_still_request_what_they_may_read(org):
    client = Client()
    client.force_login(org.surveyor)
    response = client.post(
        "/team/evidence/",
        {
            "department": org.dept.pk,
            "date_from": org.surveyor.surveyor_scope.records_from.isoformat(),
            "date_to": org.surveyor.surveyor_scope.records_to.isoformat(),
        },
    )
    assert response.status_code == 302
    assert EvidencePack.objects.filter(requested_by=org.surveyor).count() == 1
    export = client.post("/team/exports/matrix/", {"course": org.tiny.course.slug})
    assert export.status_code == 302 and ExportJob.objects.filter(requested_by=org.surveyor).count() == 1
    assert client.post("/accounts/logout/").status_code in (200, 302)


def test_other_roles_still_write(org):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {org.tokens['learner']}")
    lesson = org.tiny.modules[0].lessons.first()
    assert api.post(f"/api/v1/lessons/{lesson.pk}/complete/").status_code == 200
