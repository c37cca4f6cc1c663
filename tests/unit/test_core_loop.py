"""The learner's core loop at its seams: regressions of issue 15.

- The course page answered 500 while the final exam cooled down (a state with no label).
- Starting a quiz whose open attempt had expired graded it and then, when the start was refused
  (limit or cool-down), rolled the grading back: the learner looped on "Resume your attempt".
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import AuditEvent
from courses import services
from courses.models import Enrollment
from quizzes.errors import AttemptLimitReached, CoolingDown
from quizzes.models import Attempt
from tests.course_helpers import load_tiny, read_all_lessons, take_quiz
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def learner(db):
    return UserFactory()


def test_course_page_answers_while_the_final_exam_cools_down(tmp_path, learner, client, clock):
    tiny = load_tiny(tmp_path, final={"attempt_limit": 3, "cooldown_minutes": 60})
    services.enroll(user=learner, course=tiny.course)
    read_all_lessons(learner, tiny.version)
    failed = take_quiz(learner, tiny.version.final_exam, tiny.specs, correct=False)
    assert failed.passed is False
    client.force_login(learner)

    response = client.get(f"/courses/{tiny.course.slug}/")

    assert response.status_code == 200
    retry_at = timezone.localtime(failed.submitted_at + timedelta(minutes=60))
    assert f"{retry_at:%H:%M}" in response.content.decode()  # when the next start opens


@pytest.mark.parametrize(
    ("quiz_settings", "refusal"),
    [
        ({"attempt_limit": 1, "time_limit_minutes": 10}, AttemptLimitReached),
        ({"cooldown_minutes": 60, "time_limit_minutes": 10}, CoolingDown),
    ],
)
def test_an_expired_open_attempt_stays_graded_when_the_start_that_found_it_is_refused(
    tmp_path, learner, clock, quiz_settings, refusal
):
    tiny = load_tiny(tmp_path, quiz=quiz_settings)
    enrollment = services.enroll(user=learner, course=tiny.course)[0]
    read_all_lessons(learner, tiny.version)
    quiz = tiny.modules[0].quiz
    attempt, created = services.start_quiz_attempt(user=learner, quiz=quiz)
    assert created
    clock.advance(minutes=11)

    with pytest.raises(refusal):
        services.start_quiz_attempt(user=learner, quiz=quiz)

    attempt.refresh_from_db()
    assert attempt.state == "submitted" and attempt.closed_by == Attempt.Closure.DEADLINE
    assert AuditEvent.objects.filter(action="attempt.graded", target_id=str(attempt.pk)).count() == 1
    enrollment.refresh_from_db()
    assert enrollment.last_activity_at == clock.now  # progress was stored by the same grading
    with pytest.raises(refusal):  # and the next click is refused for the same reason, not a resume loop
        services.start_quiz_attempt(user=learner, quiz=quiz)
    assert Attempt.objects.filter(user=learner, quiz=quiz).count() == 1
    assert Enrollment.objects.get(pk=enrollment.pk).status == Enrollment.Status.IN_PROGRESS


def test_the_quiz_page_after_an_expired_attempt_offers_no_resume(tmp_path, learner, client, clock):
    tiny = load_tiny(tmp_path, quiz={"attempt_limit": 1, "time_limit_minutes": 10})
    services.enroll(user=learner, course=tiny.course)
    read_all_lessons(learner, tiny.version)
    quiz = tiny.modules[0].quiz
    services.start_quiz_attempt(user=learner, quiz=quiz)
    clock.advance(minutes=11)
    client.force_login(learner)

    response = client.post(f"/quizzes/{quiz.pk}/start/")

    assert response.status_code == 302 and response["Location"] == f"/quizzes/{quiz.pk}/"
    body = client.get(f"/quizzes/{quiz.pk}/").content.decode()
    assert "Resume your attempt" not in body


def test_team_pages_default_to_the_organisations_date_not_the_servers(client, clock):
    """02:30 UTC on 2 March is still 1 March in the organisation (America/New_York): the evidence form's
    "to" date and the sign-off form's observation date are the organisation's day."""
    from datetime import UTC, datetime

    from accounts.models import Role

    clock.now = datetime(2030, 3, 2, 2, 30, tzinfo=UTC)
    assert str(timezone.localdate()) == "2030-03-01"
    client.force_login(UserFactory(role=Role.ADMIN))
    response = client.get("/team/evidence/")
    assert response.status_code == 200
    assert 'name="date_to" required value="2030-03-01"' in response.content.decode()
