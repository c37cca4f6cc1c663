"""Reminders and escalation (courses.assignments.reminders, courses.tasks.send_reminders): every offset once on its
day, missed offsets, who gets nothing, the supervisor stand-in, digests, a mail outage, the task's retry,
parallel senders and queries per batch. Time travel: `today=`/`now=` passed to the planner and
`django.utils.timezone.now` frozen for the sender (the `clock` fixture)."""

import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from courses import tasks
from courses.assignments import reminders
from courses.models import Enrollment, Notification
from tests.concurrency import run_together
from tests.factories import UserFactory
from tests.onboarding_helpers import enroll, local_dt, make_course, make_department

pytestmark = pytest.mark.django_db

DUE = date(2030, 4, 15)  # a Monday; New York is on daylight time (UTC-4)


@pytest.fixture(autouse=True)
def reminder_settings(settings):
    settings.REMINDER_OFFSETS_DAYS = [-7, -1, 0, 7]
    settings.ESCALATE_SUPERVISOR_AFTER_DAYS = 7
    settings.ESCALATE_DEPARTMENT_ADMIN_AFTER_DAYS = 21
    settings.PUBLIC_BASE_URL = "https://training.example.org"
    return settings


def run_day(day: date, clock, *, send: bool = True):
    """The daily job on `day` at 07:00 local: plan, then send."""
    clock.now = local_dt(day, 7)
    reminders.plan_notifications(today=day, now=clock.now)
    return reminders.send_pending() if send else None


def mails_to(address: str) -> list:
    return [m for m in mail.outbox if m.to == [address]]


@pytest.fixture
def team():
    """A supervisor with one learner who has an email address, due on DUE."""
    department = make_department("nursing")
    course = make_course("overdose-response")
    supervisor = UserFactory(username="sam", first_name="Sam", role=Role.SUPERVISOR, department=department)
    learner = UserFactory(
        username="lee", first_name="Lee", last_name="Learner", supervisor=supervisor, department=department
    )
    enrollment = enroll(learner, course, due=DUE)
    return type(
        "Team", (), {"course": course, "supervisor": supervisor, "learner": learner, "enrollment": enrollment}
    )


# --- offsets --------------------------------------------------------------------------------------


def test_each_offset_sends_exactly_one_reminder_of_its_kind_on_its_day(team, clock, reminder_settings):
    reminder_settings.ESCALATE_SUPERVISOR_AFTER_DAYS = 999  # reminders only here
    reminder_settings.ESCALATE_DEPARTMENT_ADMIN_AFTER_DAYS = 999
    emails_on: dict[date, int] = {}
    for day in (DUE + timedelta(days=n) for n in range(-10, 12)):
        for _ in range(2):  # the job runs twice that day: nothing new the second time
            before = len(mail.outbox)
            run_day(day, clock)
            emails_on[day] = emails_on.get(day, 0) + len(mail.outbox) - before

    offsets = {-7: "reminder-7", -1: "reminder-1", 0: "reminder+0", 7: "reminder+7"}
    assert {day: n for day, n in emails_on.items() if n} == {DUE + timedelta(days=o): 1 for o in offsets}
    sent = {
        kind: (timezone.localdate(created), timezone.localdate(sent_at))
        for kind, created, sent_at in Notification.objects.values_list("kind", "created_at", "sent_at")
    }
    assert sent == {kind: (DUE + timedelta(days=o),) * 2 for o, kind in offsets.items()}
    assert all(m.to == ["lee@example.org"] for m in mail.outbox)
    assert set(Notification.objects.values_list("status", "recipient")) == {("sent", team.learner.pk)}


def test_reminder_wording_and_course_link_for_each_offset(team, clock):
    link = "https://training.example.org/courses/overdose-response/"
    expected = {
        -7: ("Due soon: Course overdose-response", "is due on 15 April 2030, in 7 days."),
        -1: ("Due soon: Course overdose-response", "is due on 15 April 2030, in 1 day."),
        0: ("Due soon: Course overdose-response", "is due today, 15 April 2030."),
        7: ("Overdue: Course overdose-response", "was due on 15 April 2030 (7 days ago)."),
    }
    for offset, (subject, sentence) in expected.items():
        mail.outbox.clear()
        run_day(DUE + timedelta(days=offset), clock)
        message = mails_to("lee@example.org")[0]
        assert message.subject == subject
        assert sentence in message.body
        assert "Hello Lee," in message.body
        assert link in message.body


def test_offsets_come_from_settings(team, clock, reminder_settings):
    reminder_settings.REMINDER_OFFSETS_DAYS = [2, -3]
    for day in (DUE + timedelta(days=n) for n in range(-8, 6)):
        run_day(day, clock)
    kinds = dict(Notification.objects.filter(recipient=team.learner).values_list("kind", "created_at"))
    assert kinds == {
        "reminder-3": local_dt(DUE - timedelta(days=3), 7),
        "reminder+2": local_dt(DUE + timedelta(days=2), 7),
    }


def test_planner_reads_the_frozen_clock_in_local_time(team, clock):
    clock.now = datetime(2030, 4, 8, 3, 59, tzinfo=UTC)  # 7 April, 23:59 in New York: 8 days before
    assert reminders.plan_notifications().planned == 0
    clock.now = datetime(2030, 4, 8, 4, 0, tzinfo=UTC)  # midnight, 8 April in New York: 7 days before
    assert reminders.plan_notifications().planned == 1
    assert Notification.objects.get().kind == "reminder-7"


def test_a_missed_earlier_offset_is_not_sent_late(team, clock):
    # The job did not run from 7 days before until 2 days before the due date.
    for day in (DUE - timedelta(days=9), DUE - timedelta(days=8)):
        run_day(day, clock)
    assert not Notification.objects.exists()
    run_day(DUE - timedelta(days=1), clock)
    for n in range(0, 10):
        run_day(DUE + timedelta(days=n), clock)
    kinds = sorted(Notification.objects.filter(recipient=team.learner).values_list("kind", flat=True))
    assert kinds == ["reminder+0", "reminder+7", "reminder-1"]  # never reminder-7


def test_a_reminder_planned_after_its_day_states_the_real_days(team, clock):
    """First run 5 days before the due date (the assignment was just made): the latest offset reached
    is -7, and the email states the real distance to the due date, not the offset's."""
    run_day(DUE - timedelta(days=5), clock)
    assert Notification.objects.get().kind == "reminder-7"
    assert "is due on 15 April 2030, in 5 days." in mail.outbox[0].body

    late = enroll(UserFactory(username="late", supervisor=None), make_course("other"), due=date(2030, 1, 31))
    mail.outbox.clear()
    run_day(DUE, clock)  # 74 days after the due date of `late`
    assert Notification.objects.get(enrollment=late).kind == "reminder+7"
    message = mails_to("late@example.org")[0]
    assert "was due on 31 January 2030 (74 days ago)." in message.body


# --- who gets nothing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"status": Enrollment.Status.COMPLETED, "completed_at": datetime(2030, 4, 1, tzinfo=UTC)},
        {"status": Enrollment.Status.EXEMPT},
        {"user_inactive": True},
        {"due_date": None},
    ],
    ids=["completed", "exempt", "inactive", "no-due-date"],
)
def test_completed_exempt_inactive_and_undated_get_nothing(team, clock, change):
    change = dict(change)
    if change.pop("user_inactive", False):
        team.learner.is_active = False
        team.learner.save(update_fields=["is_active"])
    Enrollment.objects.filter(pk=team.enrollment.pk).update(**change)
    for day in (DUE + timedelta(days=n) for n in range(-8, 30)):
        run_day(day, clock)
    assert not Notification.objects.exists()
    assert mail.outbox == []


def test_completion_after_planning_but_before_sending_sends_nothing(team, clock):
    """Planned, then the mail server was down; Lee finishes before the retry. Lee gets no reminder and
    the supervisor's digest lists only the teammate who is still overdue."""
    teammate = UserFactory(first_name="Kim", last_name="Mate", supervisor=team.supervisor)
    enroll(teammate, team.course, due=DUE)
    day = DUE + timedelta(days=7)
    run_day(day, clock, send=False)
    assert Notification.objects.filter(status="pending").count() == 4  # 2 reminders, 2 digest rows
    Enrollment.objects.filter(pk=team.enrollment.pk).update(
        status=Enrollment.Status.COMPLETED, completed_at=local_dt(day, 8)
    )
    clock.now = local_dt(day, 9)
    report = reminders.send_pending()

    assert (report.sent, report.failed) == (2, 2)
    assert mails_to("lee@example.org") == []
    digest = mails_to("sam@example.org")[0]
    assert digest.subject == "1 of your staff is overdue on required training"
    assert "Kim Mate" in digest.body and "Lee Learner" not in digest.body
    assert len(mail.outbox) == 2
    assert not Notification.objects.filter(
        enrollment=team.enrollment, status__in=["sent", "pending"]
    ).exists()


# --- no email: the supervisor instead -------------------------------------------------------------


def test_a_person_without_email_is_reported_to_their_supervisor(team, clock):
    team.learner.email = ""
    team.learner.save(update_fields=["email"])
    run_day(DUE - timedelta(days=7), clock)
    notification = Notification.objects.get()
    assert (notification.kind, notification.recipient, notification.status) == (
        "reminder-7",
        team.supervisor,
        "sent",
    )
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["sam@example.org"]
    assert message.subject == "Lee Learner has training due (no email on file)"
    assert "Hello Sam," in message.body
    assert (
        "Lee Learner has no email address on file, so this reminder comes to you as their supervisor."
        in message.body
    )
    assert 'Their required training "Course overdose-response" is due on 15 April 2030' in message.body


def test_no_email_and_no_active_supervisor_plans_nothing(team, clock):
    team.learner.email = ""
    team.learner.save(update_fields=["email"])
    team.supervisor.is_active = False
    team.supervisor.save(update_fields=["is_active"])
    for day in (DUE + timedelta(days=n) for n in range(-7, 25)):
        run_day(day, clock)
    assert not Notification.objects.exists()
    assert mail.outbox == []


# --- escalation digests ---------------------------------------------------------------------------


def test_supervisor_digest_groups_overdue_staff_into_one_email(team, clock):
    other_course = make_course("infection-control")
    names = {"Lee Learner"}
    for i, due in enumerate([DUE - timedelta(days=3), DUE - timedelta(days=1)]):
        person = UserFactory(first_name="Staff", last_name=f"Member{i}", supervisor=team.supervisor)
        enroll(person, other_course, due=due)
        names.add(f"Staff Member{i}")
    on_time = UserFactory(first_name="On", last_name="Time", supervisor=team.supervisor)
    enroll(on_time, other_course, due=DUE + timedelta(days=30))
    other_supervisor = UserFactory(username="ola", role=Role.SUPERVISOR)
    enroll(
        UserFactory(first_name="Elsewhere", last_name="Person", supervisor=other_supervisor),
        other_course,
        due=DUE,
    )

    run_day(DUE + timedelta(days=7), clock)  # the first run: Lee 7 days overdue, the others more

    digests = mails_to("sam@example.org")
    assert len(digests) == 1
    digest = digests[0]
    assert digest.subject == "3 of your staff are overdue on required training"
    assert "These members of your team are overdue on required training as of 22 April 2030" in digest.body
    listed = {line[2:].split(":")[0] for line in digest.body.splitlines() if line.startswith("- ")}
    assert listed == names
    assert "On Time" not in digest.body and "Elsewhere" not in digest.body
    assert "Course overdose-response, due 15 Apr 2030" in digest.body
    assert len(mails_to("ola@example.org")) == 1
    assert (
        Notification.objects.filter(
            kind="escalate-supervisor", recipient=team.supervisor, status="sent"
        ).count()
        == 3
    )

    mail.outbox.clear()
    for n in range(8, 12):
        run_day(DUE + timedelta(days=n), clock)
    assert mails_to("sam@example.org") == []  # once per person and course


def test_one_digest_per_supervisor_even_when_sending_in_small_slices(team, clock):
    """send_pending takes `limit` pending rows at a time; a supervisor's escalation rows spread over
    several slices (they are planned interleaved with reminders) still make one digest."""
    for i in range(7):
        enroll(
            UserFactory(first_name="Team", last_name=f"Member{i}", supervisor=team.supervisor),
            team.course,
            due=DUE,
        )
    run_day(DUE + timedelta(days=7), clock, send=False)
    assert Notification.objects.filter(kind="escalate-supervisor").count() == 8
    while Notification.objects.filter(status="pending").exists():
        reminders.send_pending(limit=3)
    digests = mails_to("sam@example.org")
    assert len(digests) == 1
    assert digests[0].subject == "8 of your staff are overdue on required training"
    assert len(mail.outbox) == 8 + 1


def test_escalation_threshold_comes_from_settings(team, clock, reminder_settings):
    reminder_settings.ESCALATE_SUPERVISOR_AFTER_DAYS = 3
    run_day(DUE + timedelta(days=2), clock)
    assert not Notification.objects.filter(kind="escalate-supervisor").exists()
    run_day(DUE + timedelta(days=3), clock)
    assert Notification.objects.get(kind="escalate-supervisor").recipient == team.supervisor
    assert len(mails_to("sam@example.org")) == 1


def test_department_admin_digest_after_further_days(team, clock):
    admin = UserFactory(
        username="dana", first_name="Dana", role=Role.DEPARTMENT_ADMIN, department=team.learner.department
    )
    other_admin = UserFactory(
        username="otto", role=Role.DEPARTMENT_ADMIN, department=make_department("kitchen")
    )
    teammate = UserFactory(
        first_name="Tia", last_name="Mate", department=team.learner.department, supervisor=None
    )
    enroll(teammate, make_course("handwashing"), due=DUE)
    # Only 11 days overdue on the day the others reach 21: in no department-level digest that day.
    recent = UserFactory(
        first_name="Una", last_name="Recent", department=team.learner.department, supervisor=None
    )
    enroll(recent, make_course("fire-safety"), due=DUE + timedelta(days=10))

    run_day(DUE + timedelta(days=20), clock)
    assert mails_to("dana@example.org") == []
    run_day(DUE + timedelta(days=21), clock)

    digests = mails_to("dana@example.org")
    assert len(digests) == 1
    assert digests[0].subject == "2 of your staff are overdue on required training"
    assert "These people in your department are overdue" in digests[0].body
    assert "Lee Learner: Course overdose-response" in digests[0].body
    assert "Tia Mate: Course handwashing" in digests[0].body
    assert "Una Recent" not in digests[0].body
    assert mails_to("otto@example.org") == []
    assert (
        Notification.objects.filter(kind="escalate-department-admin", recipient=admin, status="sent").count()
        == 2
    )
    assert not Notification.objects.filter(recipient=other_admin).exists()
    run_day(DUE + timedelta(days=22), clock)
    assert len(mails_to("dana@example.org")) == 1


# --- mail server down -----------------------------------------------------------------------------


def _mail_down(monkeypatch):
    calls = []

    def refuse(**kwargs):
        calls.append(kwargs)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(reminders, "send_mail", refuse)
    return calls


def _mail_back(monkeypatch):
    from django.core.mail import send_mail

    monkeypatch.setattr(reminders, "send_mail", send_mail)


def test_mail_server_down_then_back_sends_each_notification_exactly_once(team, clock, monkeypatch):
    second = UserFactory(username="kim", supervisor=team.supervisor)
    enroll(second, team.course, due=DUE)
    day = DUE + timedelta(days=7)
    calls = _mail_down(monkeypatch)

    with pytest.raises(reminders.MailUnavailable) as info:
        run_day(day, clock)

    assert isinstance(info.value.error, ConnectionRefusedError)
    assert info.value.report.errors == 3 and info.value.report.sent == 0  # 2 reminders, 1 digest
    assert len(calls) == 3
    assert mail.outbox == []
    notifications = Notification.objects.all()
    assert notifications.count() == 4  # 2 reminders + 2 escalation rows in one digest
    for notification in notifications:
        assert notification.status == "pending"
        assert notification.sent_at is None
        assert notification.attempts == 1
        assert notification.last_error.startswith("ConnectionRefusedError")

    _mail_back(monkeypatch)
    clock.now = local_dt(day, 8)
    report = reminders.send_pending()
    assert (report.sent, report.errors) == (4, 0)
    reminders.send_pending()
    run_day(day, clock)
    assert sorted(m.to[0] for m in mail.outbox) == ["kim@example.org", "lee@example.org", "sam@example.org"]
    assert set(Notification.objects.values_list("status", "attempts")) == {("sent", 2)}


def test_after_max_attempts_the_notification_fails_and_is_not_retried(team, clock, monkeypatch):
    _mail_down(monkeypatch)
    run_day(DUE, clock, send=False)
    for attempt in range(1, reminders.MAX_SEND_ATTEMPTS + 1):
        with pytest.raises(reminders.MailUnavailable) as info:
            reminders.send_pending()
        notification = Notification.objects.get()
        assert notification.attempts == attempt
        expected = "failed" if attempt == reminders.MAX_SEND_ATTEMPTS else "pending"
        assert notification.status == expected
    assert info.value.report.failed == 1

    _mail_back(monkeypatch)
    assert reminders.send_pending().sent == 0
    run_day(DUE, clock)
    assert mail.outbox == []
    assert Notification.objects.get().status == "failed"


@pytest.mark.parametrize(("retries", "countdown"), [(0, 60), (2, 240), (5, 1920), (6, 3600), (7, 3600)])
def test_send_reminders_task_requests_a_retry_with_backoff(team, clock, monkeypatch, retries, countdown):
    clock.now = local_dt(DUE, 7)
    _mail_down(monkeypatch)
    tasks.send_reminders.push_request(retries=retries, is_eager=True, called_directly=False, id="probe")
    try:
        with pytest.raises(Retry) as info:
            tasks.send_reminders.run()
    finally:
        tasks.send_reminders.pop_request()
    assert isinstance(info.value.exc, ConnectionRefusedError)
    assert info.value.when == countdown
    assert Notification.objects.get().status == "pending"


def test_send_reminders_task_gives_up_after_max_retries(team, clock, monkeypatch):
    clock.now = local_dt(DUE, 7)
    _mail_down(monkeypatch)
    retries = tasks.send_reminders.max_retries
    tasks.send_reminders.push_request(retries=retries, is_eager=True, called_directly=False, id="probe")
    try:
        with pytest.raises(ConnectionRefusedError):
            tasks.send_reminders.run()
    finally:
        tasks.send_reminders.pop_request()
    assert Notification.objects.get().status == "pending"  # the next daily run tries again


def test_send_reminders_task_eager_raises_retry_then_sends_once_when_mail_is_back(team, clock, monkeypatch):
    clock.now = local_dt(DUE, 7)
    down = _mail_down(monkeypatch)
    with pytest.raises(Retry) as info:
        tasks.send_reminders.delay()
    assert info.value.when == 60
    assert isinstance(info.value.exc, ConnectionRefusedError)
    assert len(down) == 1 and mail.outbox == []
    assert Notification.objects.get().status == "pending"

    _mail_back(monkeypatch)
    clock.now = local_dt(DUE, 8)
    assert tasks.send_reminders.delay().get() == {"sent": 1, "failed": 0}
    assert tasks.send_reminders.delay().get() == {"sent": 0, "failed": 0}
    assert len(mail.outbox) == 1
    notification = Notification.objects.get()
    assert (notification.status, notification.attempts) == ("sent", 2)


# --- parallel senders -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_parallel_send_pending_sends_each_notification_exactly_once(monkeypatch, reminder_settings):
    from django.core.mail import send_mail

    department = make_department("nursing")
    course = make_course()
    supervisors = [UserFactory(role=Role.SUPERVISOR, department=department) for _ in range(3)]
    for i in range(30):
        learner = UserFactory(supervisor=supervisors[i % 3], department=department)
        enroll(learner, course, due=DUE - timedelta(days=i % 10))
    day = DUE + timedelta(days=7)
    reminders.plan_notifications(today=day, now=local_dt(day, 7))
    pending = Notification.objects.count()
    assert pending > 30

    def slow_send_mail(**kwargs):
        time.sleep(0.002)  # widen the window in which two senders could pick the same row
        return send_mail(**kwargs)

    monkeypatch.setattr(reminders, "send_mail", slow_send_mail)
    threads_n = 8
    reports, errors = run_together(
        *[lambda: reminders.send_pending()] * threads_n, barrier_timeout=30, join_timeout=120
    )

    assert not any(errors), errors
    assert sum(r.sent for r in reports) == pending
    assert Notification.objects.filter(status="sent").count() == pending
    reminders_sent = Notification.objects.filter(kind__startswith="reminder").count()
    # one email per reminder, one digest per supervisor
    assert len(mail.outbox) == reminders_sent + len(supervisors)
    per_recipient = Counter(m.to[0] for m in mail.outbox)
    for supervisor in supervisors:
        assert per_recipient[supervisor.email] == 1
    assert max(per_recipient.values()) == 1


# --- queries per batch ----------------------------------------------------------------------------


def _population(n: int, course, department, supervisor) -> None:
    """n enrollments of active people spread over every case: each offset, overdue for escalation to
    supervisor and department admin, no email (the supervisor instead)."""
    shifts = [-7, -1, 0, 7, 8, 21, 30, -3, 3, 25]
    for i in range(n):
        learner = UserFactory(
            supervisor=supervisor, department=department, email="" if i % 4 == 0 else f"q{n}-{i}@example.org"
        )
        enroll(learner, course, due=DUE - timedelta(days=shifts[i % len(shifts)]))


def _plan_queries(**kwargs) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        report = reminders.plan_notifications(**kwargs)
    return len(ctx.captured_queries), report.planned


def test_plan_notifications_queries_are_constant_per_batch_not_per_enrollment():
    small_dept, large_dept = make_department("small"), make_department("large")
    small_course, large_course = make_course("small"), make_course("large")
    for department in (small_dept, large_dept):
        UserFactory(role=Role.DEPARTMENT_ADMIN, department=department)
    boss = UserFactory(role=Role.SUPERVISOR)
    _population(20, small_course, small_dept, boss)
    now = local_dt(DUE, 7)
    q_small, planned_small = _plan_queries(today=DUE, now=now)
    _population(200, large_course, large_dept, boss)
    Notification.objects.all().delete()
    Enrollment.objects.filter(course=small_course).update(
        status=Enrollment.Status.COMPLETED, completed_at=now
    )
    q_large, planned_large = _plan_queries(today=DUE, now=now)

    assert planned_small > 20 and planned_large == planned_small * 10
    assert q_small == q_large, (q_small, q_large)

    Notification.objects.all().delete()
    q_four_batches, _ = _plan_queries(today=DUE, now=now, batch_size=50)
    assert Notification.objects.count() == planned_large
    per_batch = (q_four_batches - q_large) / 3
    assert per_batch == int(per_batch) and 0 < per_batch <= 4, (q_large, q_four_batches)
