"""IDOR matrix: every endpoint that takes an object id or slug, requested by someone the object is not
for (another learner, a supervisor of another team, a department admin of another department, a
surveyor scoped elsewhere), answers 404, the same as for an id that does not exist, and changes nothing.
Each row is first proven reachable by its owner (a 404 for everyone would prove nothing).

Supervisor actions that answer with a message instead (reminder, override, sign-off on someone outside
the team) are held to the same rule in test_supervisor_actions_on_strangers_answer_as_for_missing_ids."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Role
from core.models import AuditEvent
from courses.certificates import services as certificates
from courses.enrollment import services
from courses.evidence import services as evidence
from courses.models import Enrollment, EnrollmentOverride, ExportJob, Notification, SkillSignoff
from courses.reports import exports
from quizzes.models import Answer, Attempt
from tests.certificate_helpers import completed_enrollment, make_course
from tests.course_helpers import load_tiny, read_all_lessons, take_quiz
from tests.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db

MISSING = 987654


@pytest.fixture
def world(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    tiny = load_tiny(tmp_path / "a")
    other_course = load_tiny(tmp_path / "b", slug="second-course")
    north, south = (
        DepartmentFactory(name="North", code="north"),
        DepartmentFactory(name="South", code="south"),
    )
    sup_n = UserFactory(username="sup-n", role=Role.SUPERVISOR, department=north)
    sup_s = UserFactory(username="sup-s", role=Role.SUPERVISOR, department=south)
    dadmin_s = UserFactory(username="dadmin-s", role=Role.DEPARTMENT_ADMIN, department=south)
    admin = UserFactory(username="root", role=Role.ADMIN)
    owner = UserFactory(username="owner", department=north, supervisor=sup_n)
    intruder = UserFactory(username="intruder", department=south, supervisor=sup_s)
    surveyor = UserFactory(username="surveyor", role=Role.SURVEYOR)
    from django.utils import timezone

    from accounts.models import SurveyorScope

    scope = SurveyorScope.objects.create(
        user=surveyor,
        records_from=timezone.localdate() - timedelta(days=400),
        records_to=timezone.localdate() + timedelta(days=1),
        expires_at=timezone.now() + timedelta(days=10),
    )
    scope.departments.add(south)

    for person in (owner, intruder):
        services.enroll(user=person, course=tiny.course, due_date=timezone.localdate() - timedelta(days=3))
    services.enroll(user=owner, course=other_course.course)
    read_all_lessons(owner, tiny.version)
    submitted = take_quiz(owner, tiny.modules[0].quiz, tiny.specs)
    open_attempt, _ = services.start_quiz_attempt(user=owner, quiz=tiny.modules[1].quiz)
    enrollment = Enrollment.objects.get(user=owner, course=tiny.course)
    cert_course = make_course(slug="cert-course")
    certificate = certificates.issue_certificate(
        enrollment_id=completed_enrollment(owner, cert_course).pk
    ).certificate

    export = exports.request_export(requested_by=sup_n, kind="overdue", params={})
    exports.run_export(job_id=export.pk)
    pack = evidence.request_pack(
        requested_by=admin,
        department_id=north.pk,
        date_from=timezone.localdate() - timedelta(days=30),
        date_to=timezone.localdate(),
    )
    evidence.build_pack(pack_id=pack.pk)

    def client_for(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    def api_for(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    lesson_b = other_course.modules[0].lessons.first()
    return {
        "tiny": tiny,
        "other_course": other_course,
        "owner": owner,
        "intruder": intruder,
        "sup_n": sup_n,
        "sup_s": sup_s,
        "admin": admin,
        "open_attempt": open_attempt,
        "submitted": submitted,
        "enrollment": enrollment,
        "certificate": certificate,
        "export": ExportJob.objects.get(pk=export.pk),
        "pack": pack,
        "lesson_b": lesson_b,
        "clients": {
            "owner": client_for(owner),
            "intruder": client_for(intruder),
            "sup_n": client_for(sup_n),
            "sup_s": client_for(sup_s),
            "dadmin_s": client_for(dadmin_s),
            "surveyor": client_for(surveyor),
            "admin": client_for(admin),
        },
        "apis": {"owner": api_for(owner), "intruder": api_for(intruder)},
    }


def page_rows(w) -> list[tuple]:
    """(label, method, url with {id}, form, owner, attackers). {id} is the object's id or MISSING."""
    a, s = w["open_attempt"].pk, w["submitted"].pk
    learners = ("intruder", "sup_s", "dadmin_s", "surveyor")
    team = ("intruder", "sup_s", "dadmin_s", "surveyor")
    return [
        ("attempt page", "get", "/attempts/{id}/", {}, "owner", learners, a),
        ("attempt page save", "post", "/attempts/{id}/", {"page": "1", "go": "stay"}, "owner", learners, a),
        ("attempt autosave", "post", "/attempts/{id}/autosave/", {"question": "1"}, "owner", learners, a),
        ("attempt review", "get", "/attempts/{id}/review/", {}, "owner", learners, a),
        ("attempt result", "get", "/attempts/{id}/result/", {}, "owner", learners, s),
        ("attempt submit", "post", "/attempts/{id}/submit/", {}, "owner", learners, a),
        ("lesson of a course not mine", "get", "/lessons/{id}/", {}, "owner", learners, w["lesson_b"].pk),
        ("mark read", "post", "/lessons/{id}/read/", {}, "owner", learners, w["lesson_b"].pk),
        (
            "reading ping",
            "post",
            "/lessons/{id}/ping/",
            {"seconds": "5"},
            "owner",
            learners,
            w["lesson_b"].pk,
        ),
        ("quiz intro", "get", "/quizzes/{id}/", {}, "owner", learners, w["other_course"].modules[0].quiz.pk),
        (
            "quiz start",
            "post",
            "/quizzes/{id}/start/",
            {},
            "owner",
            learners,
            w["other_course"].modules[0].quiz.pk,
        ),
        (
            "certificate PDF",
            "get",
            "/certificates/{id}/pdf/",
            {},
            "owner",
            learners + ("sup_n",),
            w["certificate"].pk,
        ),
        ("person page", "get", "/team/people/{id}/", {}, "sup_n", team, w["owner"].pk),
        ("export status", "get", "/team/exports/job/{id}/", {}, "sup_n", team + ("admin",), w["export"].pk),
        (
            "export CSV",
            "get",
            "/team/exports/job/{id}/download/",
            {},
            "sup_n",
            team + ("admin",),
            w["export"].pk,
        ),
        ("evidence pack", "get", "/team/evidence/{id}/", {}, "admin", team + ("sup_n",), w["pack"].pk),
        (
            "evidence ZIP",
            "get",
            "/team/evidence/{id}/download/",
            {},
            "admin",
            team + ("sup_n",),
            w["pack"].pk,
        ),
    ]


def test_every_object_page_answers_404_to_everyone_it_is_not_for(world):
    w = world
    # (a surveyor's every page view, and every refused write, is audited by design: not changes)
    changes = AuditEvent.objects.exclude(action__in=["surveyor.opened", "access.write_refused"])
    before = (Answer.objects.count(), Attempt.objects.count(), changes.count())
    rows = page_rows(w)
    checked = 0
    for label, method, url, form, owner, attackers, object_id in rows:
        for who in attackers:
            client = w["clients"][who]
            response = getattr(client, method)(url.format(id=object_id), form)
            missing = getattr(client, method)(url.format(id=MISSING), form)
            # A surveyor's write is refused before any lookup (read-only rule): 403 for both, so it
            # tells nothing about the object either.
            expected = 403 if who == "surveyor" and method != "get" else 404
            assert response.status_code == expected, (label, who, response.status_code)
            assert missing.status_code == expected, (label, who, "missing id", missing.status_code)
            checked += 1
    assert (Answer.objects.count(), Attempt.objects.count(), changes.count()) == before
    assert w["open_attempt"].__class__.objects.get(pk=w["open_attempt"].pk).state == "in_progress"
    # Each row is reachable by its owner (submit last: it closes the attempt the other rows use).
    for label, method, url, form, owner, _, object_id in sorted(rows, key=lambda r: r[0] == "attempt submit"):
        if label in ("lesson of a course not mine", "mark read", "reading ping", "quiz intro", "quiz start"):
            owner_response = getattr(w["clients"]["owner"], method)(url.format(id=object_id), form)
        else:
            owner_response = getattr(w["clients"][owner], method)(url.format(id=object_id), form)
        assert owner_response.status_code in (200, 204, 302, 400), (label, owner_response.status_code)
    assert checked >= 70


def test_every_api_object_endpoint_answers_404_to_another_learner(world):
    w = world
    a = w["open_attempt"]
    question = next(iter(a.layout["items"]))
    rows = [
        ("get", "/api/v1/attempts/{id}/", None, a.pk),
        ("put", "/api/v1/attempts/{id}/answers/" + question + "/", {"choice_ids": []}, a.pk),
        ("post", "/api/v1/attempts/{id}/submit/", None, a.pk),
        ("post", "/api/v1/lessons/{id}/complete/", None, w["lesson_b"].pk),
        ("post", "/api/v1/quizzes/{id}/attempts/", None, w["other_course"].modules[0].quiz.pk),
        ("get", "/api/v1/reports/item-analysis/{id}/", None, w["tiny"].modules[0].quiz.pk),
    ]
    for method, url, body, object_id in rows:
        intruder = getattr(w["apis"]["intruder"], method)(url.format(id=object_id), body, format="json")
        missing = getattr(w["apis"]["intruder"], method)(url.format(id=MISSING), body, format="json")
        assert intruder.status_code == 404, (url, intruder.status_code, intruder.content[:200])
        assert missing.status_code == 404
        assert intruder.json() == missing.json(), url  # no hint that the object exists
    course = w["apis"]["intruder"].get(f"/api/v1/courses/{w['other_course'].course.slug}/")
    assert course.status_code == 404
    assert (
        Answer.objects.filter(attempt=a).count() == 0 and Attempt.objects.get(pk=a.pk).state == "in_progress"
    )
    # reachable by the owner
    for method, url, body, object_id in rows[:5]:
        response = getattr(w["apis"]["owner"], method)(url.format(id=object_id), body, format="json")
        assert response.status_code in (200, 201, 400, 409), (url, response.status_code)


def fresh(user) -> Client:
    """A new session each time, so flash messages of one request do not show up in the next."""
    client = Client()
    client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_supervisor_actions_on_strangers_answer_as_for_missing_ids(world):
    """Reminder, override and sign-off by a supervisor of another team: the same answer as for an id that
    does not exist (a redirect with the same message), and nothing written."""
    w = world
    sup_s = w["sup_s"]
    enrollment = w["enrollment"]
    skill_id = 1
    cases = [
        ("/team/overdue/{id}/remind/", {}, enrollment.pk),
        ("/team/people/{id}/overrides/", {"kind": "due_date_extension", "reason": "x", "new_due_date": "2031-01-01", "enrollment": str(enrollment.pk)}, w["owner"].pk),
        (f"/team/signoffs/{{id}}/{skill_id}/", {"observed_on": timezone.localdate().isoformat()}, enrollment.pk),
    ]  # fmt: skip
    before = (
        Notification.objects.count(),
        EnrollmentOverride.objects.count(),
        SkillSignoff.objects.count(),
        AuditEvent.objects.count(),
    )
    for url, form, object_id in cases:
        real = fresh(sup_s).post(url.format(id=object_id), form)
        missing = fresh(sup_s).post(url.format(id=MISSING), form)
        assert real.status_code == missing.status_code, url
        # (a redirect back to the page of the id asked for echoes that id, and nothing else)
        assert real.get("Location", "").replace(str(object_id), "{id}") == missing.get(
            "Location", ""
        ).replace(str(MISSING), "{id}"), url
        assert messages_of(real) == messages_of(missing), (url, messages_of(real), messages_of(missing))
    after = (
        Notification.objects.count(),
        EnrollmentOverride.objects.count(),
        SkillSignoff.objects.count(),
        AuditEvent.objects.count(),
    )
    assert after == before
    # the owner's supervisor can remind (the row is real)
    sent = w["clients"]["sup_n"].post(f"/team/overdue/{enrollment.pk}/remind/")
    assert sent.status_code == 302 and Notification.objects.count() == before[0] + 1
