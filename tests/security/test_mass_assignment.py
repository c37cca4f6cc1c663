"""Mass assignment: a learner cannot set score, passed, points, owner, role or status through any API
body or form. Extra fields are ignored (or the request refused); what is stored is what the server
computed, for the learner who sent the request."""

import json

import pytest
from django.test import Client
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.models import Role, User
from courses.enrollment import services
from courses.models import CourseEvaluation, Enrollment, LessonProgress
from quizzes.models import Answer, Attempt, Question
from tests.course_helpers import load_tiny, read_all_lessons
from tests.factories import UserFactory
from tests.quiz_content import correct_response
from tests.quiz_helpers import flat_payloads, wrong_response

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # tests/factories.py
HOSTILE = {
    "score": "100.00",
    "passed": True,
    "points": "1",
    "reason": "I say so",
    "correct": True,
    "state": "submitted",
    "number": 99,
    "critical_missed": [],
}


@pytest.fixture
def setup(tmp_path):
    tiny = load_tiny(tmp_path)
    learner = UserFactory(username="mallory")
    victim = UserFactory(username="victim")
    for person in (learner, victim):
        services.enroll(user=person, course=tiny.course)
    read_all_lessons(learner, tiny.version)
    api = APIClient()
    api.force_authenticate(learner)
    return tiny, learner, victim, api


def test_api_bodies_cannot_set_score_passed_points_or_owner(setup):
    tiny, learner, victim, api = setup
    quiz = tiny.modules[0].quiz
    started = api.post(f"/api/v1/quizzes/{quiz.pk}/attempts/", {**HOSTILE, "user": victim.pk}, format="json")
    assert started.status_code == 201
    attempt = Attempt.objects.get(pk=started.json()["id"])
    assert attempt.user == learner and attempt.number == 1 and attempt.score is None
    keys = dict(Question.objects.values_list("pk", "key"))
    for item in flat_payloads(started.json()):
        body = {**wrong_response(item, tiny.specs[keys[item["id"]]]), **HOSTILE, "user": victim.pk}
        response = api.put(f"/api/v1/attempts/{attempt.pk}/answers/{item['id']}/", body, format="json")
        assert response.status_code in (200, 400), response.content
        if response.status_code == 200:
            stored = Answer.objects.get(attempt=attempt, question_id=item["id"])
            assert set(stored.response) <= {"choice_ids", "order", "pairs", "value"}, stored.response
            assert stored.points is None and stored.reason == ""
    submitted = api.post(
        f"/api/v1/attempts/{attempt.pk}/submit/", {**HOSTILE, "user": victim.pk}, format="json"
    )
    assert submitted.status_code == 200
    attempt.refresh_from_db()
    assert attempt.user == learner and attempt.passed is False and attempt.score < 50
    assert not Attempt.objects.filter(user=victim).exists()


def test_a_save_of_hostile_fields_alone_is_refused_with_a_400(setup):
    tiny, learner, victim, api = setup
    started = api.post(f"/api/v1/quizzes/{tiny.modules[0].quiz.pk}/attempts/").json()
    item = flat_payloads(started)[0]
    response = api.put(f"/api/v1/attempts/{started['id']}/answers/{item['id']}/", HOSTILE, format="json")
    assert response.status_code == 400 and "errors" in response.json()
    assert not Answer.objects.filter(attempt_id=started["id"]).exists()


def test_lesson_enrol_and_token_bodies_cannot_act_for_someone_else_or_change_a_role(setup, tmp_path):
    tiny, learner, victim, api = setup
    lesson = tiny.modules[0].lessons.first()
    body = {"user": victim.pk, "enrollment": Enrollment.objects.get(user=victim).pk, "completed": True}
    assert api.post(f"/api/v1/lessons/{lesson.pk}/complete/", body, format="json").status_code == 200
    assert not LessonProgress.objects.filter(enrollment__user=victim).exists()
    other = load_tiny(tmp_path / "other", slug="open-course")
    enrol = api.post(
        f"/api/v1/courses/{other.course.slug}/enroll/",
        {"user": victim.pk, "status": "completed", "progress_percent": 100, "due_date": "2099-01-01"},
        format="json",
    )
    assert enrol.status_code == 201
    mine = Enrollment.objects.get(user=learner, course=other.course)
    assert mine.status == "not_started" and mine.progress_percent == 0 and mine.due_date is None
    assert not Enrollment.objects.filter(user=victim, course=other.course).exists()
    token = APIClient().post(
        "/api/v1/auth/token/",
        {
            "username": "mallory",
            "password": PASSWORD,
            "role": Role.ADMIN,
            "is_staff": True,
            "user": victim.pk,
        },
        format="json",
    )
    assert (
        token.status_code == 200
        and AuthToken.objects.get(token_key=token.json()["token"][:15]).user == learner
    )
    learner.refresh_from_db()
    assert learner.role == Role.LEARNER and not learner.is_staff and not learner.is_superuser


def test_forms_cannot_set_score_owner_or_role(setup):
    tiny, learner, victim, api = setup
    client = Client()
    client.force_login(learner)
    quiz = tiny.modules[0].quiz
    client.post(f"/quizzes/{quiz.pk}/start/", {"user": victim.pk, "number": 7})
    attempt = Attempt.objects.get(user=learner, quiz=quiz)
    assert attempt.number == 1 and not Attempt.objects.filter(user=victim).exists()
    keys = dict(Question.objects.values_list("pk", "key"))
    from quizzes import selectors

    first = flat_payloads(selectors.attempt_for_learner(attempt))[0]
    body = correct_response(first, tiny.specs[keys[first["id"]]])
    fields = {f"q-{first['id']}": body.get("choice_ids", []), f"q-{first['id']}-present": "1"}
    client.post(
        f"/attempts/{attempt.pk}/", {**fields, **HOSTILE, "user": victim.pk, "page": "1", "go": "stay"}
    )
    client.post(f"/attempts/{attempt.pk}/submit/", {**HOSTILE, "user": victim.pk})
    attempt.refresh_from_db()
    assert attempt.passed is False and attempt.user == learner  # one answer of six: no pass
    # the admin is for staff: a learner's post to their own user record changes nothing
    response = client.post(
        f"/admin/accounts/user/{learner.pk}/change/",
        {"username": "mallory", "role": Role.ADMIN, "is_staff": "on", "is_superuser": "on"},
    )
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    learner.refresh_from_db()
    assert learner.role == Role.LEARNER and not learner.is_staff and not learner.is_superuser
    assert User.objects.filter(role=Role.ADMIN).count() == 0


def test_the_evaluation_form_cannot_write_for_another_enrollment(setup):
    tiny, learner, victim, api = setup
    enrollment = Enrollment.objects.get(user=learner)
    from django.utils import timezone

    Enrollment.objects.filter(user__in=(learner, victim)).update(
        status="completed", completed_at=timezone.now()
    )
    client = Client()
    client.force_login(learner)
    victim_enrollment = Enrollment.objects.get(user=victim)
    client.post(
        f"/courses/{tiny.course.slug}/evaluation/",
        {
            "relevance": "5",
            "clarity": "5",
            "confidence": "5",
            "enrollment": victim_enrollment.pk,
            "user": victim.pk,
        },
    )
    evaluation = CourseEvaluation.objects.get()
    assert evaluation.enrollment == enrollment
    assert json.dumps(evaluation.ratings, sort_keys=True) == '{"clarity": 5, "confidence": 5, "relevance": 5}'
