"""The learner's core loop at its seams: regressions of issue 15.

- The course page answered 500 while the final exam cooled down (a state with no label).
- Starting a quiz whose open attempt had expired graded it and then, when the start was refused
  (limit or cool-down), rolled the grading back: the learner looped on "Resume your attempt".
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import AuditEvent
from courses.enrollment import services
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


# --- one after-grading path ------------------------------------------------------------------------


def _open_attempt(tmp_path, learner):
    tiny = load_tiny(tmp_path, quiz={"time_limit_minutes": 10})
    enrollment = services.enroll(user=learner, course=tiny.course)[0]
    read_all_lessons(learner, tiny.version)
    attempt, _ = services.start_quiz_attempt(user=learner, quiz=tiny.modules[0].quiz)
    return tiny, enrollment, attempt


def _by_submit(learner, attempt, clock, supervisor):
    services.submit_quiz_attempt(attempt_id=attempt.pk, user=learner)


def _by_save_past_deadline(learner, attempt, clock, supervisor):
    from quizzes.errors import DeadlinePassed

    clock.advance(minutes=11)
    with pytest.raises(DeadlinePassed):
        services.save_quiz_answer(attempt_id=attempt.pk, user=learner, question_id=0, response={})


def _by_start_past_deadline(learner, attempt, clock, supervisor):
    clock.advance(minutes=11)
    services.start_quiz_attempt(user=learner, quiz=attempt.quiz)


def _by_the_sweep(learner, attempt, clock, supervisor):
    from courses.enrollment.tasks import expire_overdue_attempts

    clock.advance(minutes=11)
    assert expire_overdue_attempts() == 1


def _by_staff_closing(learner, attempt, clock, supervisor):
    services.close_quiz_attempt(
        staff=supervisor, attempt_id=attempt.pk, reason="Left for a clinical emergency"
    )


@pytest.mark.parametrize(
    ("grade", "closed_by", "actor"),
    [
        (_by_submit, "learner", "learner"),
        (_by_save_past_deadline, "deadline", None),
        (_by_start_past_deadline, "deadline", None),
        (_by_the_sweep, "deadline", None),
        (_by_staff_closing, "staff", "supervisor"),
    ],
    ids=["submit", "save-past-deadline", "start-past-deadline", "sweep", "staff-close"],
)
def test_every_way_an_attempt_is_graded_goes_through_the_one_after_grading_path(
    tmp_path, learner, clock, grade, closed_by, actor
):
    from accounts.models import Role

    supervisor = UserFactory(role=Role.SUPERVISOR)
    learner.supervisor = supervisor
    learner.save(update_fields=["supervisor"])
    tiny, enrollment, attempt = _open_attempt(tmp_path, learner)
    clock.advance(minutes=1)

    grade(learner, attempt, clock, supervisor)

    attempt.refresh_from_db()
    assert attempt.state == "submitted" and attempt.closed_by == closed_by
    (event,) = AuditEvent.objects.filter(action="attempt.graded", target_id=str(attempt.pk))
    assert event.actor_id == {"learner": learner.pk, "supervisor": supervisor.pk, None: None}[actor]
    assert event.data["closed_by"] == closed_by
    enrollment.refresh_from_db()
    assert enrollment.last_activity_at == clock.now  # progress stored in the same transaction
    assert enrollment.status == Enrollment.Status.IN_PROGRESS


def test_staff_close_only_people_they_manage_and_never_their_own(tmp_path, learner, clock):
    from accounts.models import Role
    from courses.enrollment.services import CloseRefused, NotEnrolled

    tiny, enrollment, attempt = _open_attempt(tmp_path, learner)
    stranger = UserFactory(role=Role.SUPERVISOR)
    with pytest.raises(NotEnrolled):
        services.close_quiz_attempt(staff=stranger, attempt_id=attempt.pk, reason="x")
    with pytest.raises(CloseRefused):
        services.close_quiz_attempt(staff=learner, attempt_id=attempt.pk, reason="x")
    assert Attempt.objects.get(pk=attempt.pk).state == "in_progress"


def test_the_supervisor_closes_an_attempt_from_the_person_page(tmp_path, learner, clock, client):
    from accounts.models import Role

    supervisor = UserFactory(role=Role.SUPERVISOR)
    learner.supervisor = supervisor
    learner.save(update_fields=["supervisor"])
    tiny, enrollment, attempt = _open_attempt(tmp_path, learner)
    client.force_login(supervisor)
    page = client.get(f"/team/people/{learner.pk}/").content.decode()
    assert "Close and grade now" in page
    response = client.post(
        f"/team/people/{learner.pk}/attempts/{attempt.pk}/close/",
        {"reason": "Fire alarm, building evacuated"},
    )
    assert response.status_code == 302
    assert Attempt.objects.get(pk=attempt.pk).closed_by == Attempt.Closure.STAFF
    closed = AuditEvent.objects.get(action="attempt.closed_by_staff")
    assert closed.data == {"reason": "Fire alarm, building evacuated"} and closed.actor_id == supervisor.pk
