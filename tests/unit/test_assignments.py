"""The assignment engine (courses.assignments): due dates, audiences, idempotency, deactivation,
department moves, recurrence and recertification, queries per batch, parallel runs, rule saving and the
staff admin. Time travel: `today=`/`now=` are passed explicitly, and where the code reads the clock
`django.utils.timezone.now` is frozen (the `clock` fixture of tests/unit/conftest.py)."""

from datetime import UTC, date, datetime, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from core.models import AuditEvent
from courses import tasks
from courses.assignments import services as assignments
from courses.catalog import services
from courses.certificates import services as certificates
from courses.enrollment import services as enrollment_services
from courses.models import AssignmentRule, Certificate, Enrollment, Lesson
from tests.concurrency import run_together
from tests.factories import UserFactory
from tests.onboarding_helpers import (
    RULE_START,
    admin_change_form,
    complete,
    local_dt,
    make_course,
    make_department,
    make_rule,
)

pytestmark = pytest.mark.django_db

TODAY = date(2030, 3, 1)
NOW = local_dt(TODAY)


def rows(**filters) -> list[tuple]:
    """(username, course slug, cycle, due date, source) of matching enrollments, sorted."""
    return sorted(
        Enrollment.objects.filter(**filters).values_list(
            "user__username", "course__slug", "cycle", "due_date", "source"
        )
    )


# --- due dates ------------------------------------------------------------------------------------


def test_due_dates_new_staff_from_hire_date_existing_staff_from_rule_start():
    course = make_course()
    make_rule(course, start_date=date(2030, 1, 1), due_days=30)
    UserFactory(username="hired-after", hire_date=date(2030, 2, 10))
    UserFactory(username="hired-on-start", hire_date=date(2030, 1, 1))
    UserFactory(username="hired-before", hire_date=date(2021, 5, 5))
    UserFactory(username="no-hire-date", hire_date=None)

    report = assignments.apply_rules(today=TODAY, now=NOW)

    assert report.planned == 4
    due = dict(Enrollment.objects.values_list("user__username", "due_date"))
    assert due == {
        "hired-after": date(2030, 3, 12),  # new staff: hire + 30
        "hired-on-start": date(2030, 1, 31),  # hired on the start date counts as new: hire + 30
        "hired-before": date(2030, 1, 31),  # existing staff: start + 30
        "no-hire-date": date(2030, 1, 31),
    }
    enrollment = Enrollment.objects.get(user__username="hired-after")
    assert (enrollment.cycle, enrollment.source, enrollment.status) == (1, "rule", "not_started")
    assert enrollment.version == course.versions.get()
    assert enrollment.enrolled_at == NOW


def test_first_due_date_and_rule_applies_directly():
    course = make_course()
    rule = make_rule(course, start_date=date(2030, 6, 1), due_days=14)
    person = UserFactory.build(hire_date=date(2030, 5, 31), job_title="Nurse")
    assert assignments.first_due_date(rule, person) == date(2030, 6, 15)
    person.hire_date = date(2030, 6, 1)
    assert assignments.first_due_date(rule, person) == date(2030, 6, 15)
    person.hire_date = date(2030, 6, 2)
    assert assignments.first_due_date(rule, person) == date(2030, 6, 16)
    title_rule = AssignmentRule(
        course=course, audience="job_title", job_title=" NURSE ", start_date=RULE_START
    )
    assert assignments.rule_applies(title_rule, person)
    person.job_title = "Nurse manager"
    assert not assignments.rule_applies(title_rule, person)


def test_real_course_enrollments_carry_its_version_and_totals(settings):
    """The real (draft) course, loaded from its files, is assigned on its current version."""
    settings.COURSE_ALLOW_UNREVIEWED = True
    course = services.load_course(path="courses/content/substance-use-safety").course
    version = course.versions.get()
    make_rule(course, due_days=60)
    UserFactory(username="nurse", hire_date=date(2030, 2, 1))

    assignments.apply_rules(today=TODAY, now=NOW)

    enrollment = Enrollment.objects.get(user__username="nurse")
    assert enrollment.version == version
    assert enrollment.due_date == date(2030, 4, 2)
    assert enrollment.lessons_total == Lesson.objects.filter(module__version=version).count() > 0
    assert enrollment.quizzes_total == version.modules.count() + (1 if version.final_exam_id else 0)


def test_draft_only_course_is_not_assigned_unless_unreviewed_content_is_allowed(settings):
    settings.COURSE_ALLOW_UNREVIEWED = False
    course = make_course()
    course.versions.update(status="draft")
    make_rule(course)
    UserFactory()
    assert assignments.apply_rules(today=TODAY, now=NOW).planned == 0
    assert not Enrollment.objects.exists()


# --- audience -------------------------------------------------------------------------------------


def test_audience_department_job_title_case_insensitive_and_all_staff():
    nursing, kitchen = make_department("nursing"), make_department("kitchen")
    everyone, ward, nurses = make_course("everyone"), make_course("ward"), make_course("nurses")
    make_rule(everyone)
    make_rule(ward, audience="department", department=nursing)
    make_rule(nurses, audience="job_title", job_title="Registered Nurse")
    UserFactory(username="rn-nursing", department=nursing, job_title="  registered NURSE ")
    UserFactory(username="aide-nursing", department=nursing, job_title="Care aide")
    UserFactory(username="rn-kitchen", department=kitchen, job_title="Registered nurse")
    UserFactory(username="cook", department=kitchen, job_title="Cook")
    UserFactory(username="no-department", department=None, job_title="")

    assignments.apply_rules(today=TODAY, now=NOW)

    assigned = sorted(Enrollment.objects.values_list("user__username", "course__slug"))
    assert assigned == [
        ("aide-nursing", "everyone"),
        ("aide-nursing", "ward"),
        ("cook", "everyone"),
        ("no-department", "everyone"),
        ("rn-kitchen", "everyone"),
        ("rn-kitchen", "nurses"),
        ("rn-nursing", "everyone"),
        ("rn-nursing", "nurses"),
        ("rn-nursing", "ward"),
    ]


def test_inactive_rules_assign_nothing():
    make_rule(make_course(), active=False)
    UserFactory()
    assert assignments.apply_rules(today=TODAY, now=NOW).planned == 0
    assert not Enrollment.objects.exists()


def test_two_rules_for_one_course_make_one_enrollment_first_rule_wins():
    nursing = make_department("nursing")
    course = make_course()
    make_rule(course, name="department", audience="department", department=nursing, due_days=10)
    make_rule(course, name="everyone", due_days=90)
    UserFactory(department=nursing, hire_date=date(2020, 1, 1))
    assignments.apply_rules(today=TODAY, now=NOW)
    assert list(Enrollment.objects.values_list("due_date", flat=True)) == [date(2030, 1, 11)]


# --- idempotency, deactivation, department moves --------------------------------------------------


def test_running_twice_adds_nothing():
    course_a, course_b = make_course("a"), make_course("b")
    make_rule(course_a)
    make_rule(course_b, recurrence_months=12)
    UserFactory.create_batch(5)
    first = assignments.apply_rules(today=TODAY, now=NOW)
    before = rows()
    assert first.planned == 10 and len(before) == 10

    again = assignments.apply_rules(today=TODAY, now=NOW)
    later = assignments.apply_rules(today=TODAY + timedelta(days=200), now=NOW + timedelta(days=200))

    assert again.planned == 0 and later.planned == 0
    assert rows() == before


def test_existing_open_enrollment_of_any_source_is_not_duplicated():
    course = make_course()
    make_rule(course)
    person = UserFactory()
    enrollment_services.enroll(user=person, course=course, now=NOW)  # a manual enrollment, in progress or not
    assignments.apply_rules(today=TODAY, now=NOW)
    assert Enrollment.objects.filter(user=person).count() == 1
    assert Enrollment.objects.get(user=person).source == "manual"


def test_deactivated_people_get_nothing_and_keep_their_records():
    course_a, course_b = make_course("a"), make_course("b")
    make_rule(course_a)
    leaver = UserFactory(username="leaver")
    UserFactory(username="stayer")
    assignments.apply_rules(today=TODAY, now=NOW)
    UserFactory(username="never-started", is_active=False)
    leaver.is_active = False
    leaver.save(update_fields=["is_active"])
    make_rule(course_b)

    report = assignments.apply_rules(today=TODAY, now=NOW)
    report_for_leaver = assignments.apply_rules(user_ids=[leaver.pk], today=TODAY, now=NOW)

    assert report_for_leaver.examined == 0
    assert sorted(Enrollment.objects.values_list("user__username", "course__slug")) == [
        ("leaver", "a"),  # the record stays
        ("stayer", "a"),
        ("stayer", "b"),
    ]
    assert report.planned == 1


def test_moving_department_keeps_completed_training_and_assigns_the_new_departments_rules():
    nursing, kitchen = make_department("nursing"), make_department("kitchen")
    ward, food, open_one = make_course("ward"), make_course("food"), make_course("open-one")
    make_rule(ward, audience="department", department=nursing)
    make_rule(open_one, audience="department", department=nursing)
    make_rule(food, audience="department", department=kitchen, due_days=14)
    person = UserFactory(department=nursing, hire_date=date(2020, 1, 1))
    assignments.apply_rules(today=TODAY, now=NOW)
    completed = complete(Enrollment.objects.get(user=person, course=ward), NOW)

    person.department = kitchen
    person.save(update_fields=["department"])
    report = assignments.staff_record_changed(user=person)

    assert report.planned == 1
    assert Enrollment.objects.get(pk=completed.pk).status == "completed"
    assert sorted(
        Enrollment.objects.filter(user=person).values_list("course__slug", "status", "due_date")
    ) == [
        ("food", "not_started", date(2030, 1, 15)),
        ("open-one", "not_started", date(2030, 1, 31)),  # unfinished training of the old department stays
        ("ward", "completed", date(2030, 1, 31)),
    ]


# --- recurrence and recertification ---------------------------------------------------------------


def test_recurrence_opens_cycle_two_from_due_minus_renew_days_with_the_right_due_date():
    course = make_course()
    make_rule(course, recurrence_months=12, renew_days_before=30)
    person = UserFactory(hire_date=date(2020, 1, 1))
    assignments.apply_rules(today=TODAY, now=NOW)
    # Completed late in the evening local time: the next morning in UTC. Due dates are local dates.
    completed_at = datetime(2030, 3, 16, 2, 30, tzinfo=UTC)  # 15 March 2030, 22:30 in New York
    complete(Enrollment.objects.get(user=person), completed_at)
    next_due = date(2031, 3, 15)

    for day in (date(2030, 3, 16), date(2031, 1, 1), next_due - timedelta(days=31)):
        assert assignments.apply_rules(today=day, now=local_dt(day)).planned == 0
    assert Enrollment.objects.filter(user=person).count() == 1

    opening = next_due - timedelta(days=30)
    report = assignments.apply_rules(today=opening, now=local_dt(opening))

    assert report.planned == 1
    cycle2 = Enrollment.objects.get(user=person, cycle=2)
    assert (cycle2.due_date, cycle2.source, cycle2.status) == (next_due, "recertification", "not_started")
    assert cycle2.enrolled_at == local_dt(opening)
    assert assignments.apply_rules(today=opening + timedelta(days=3)).planned == 0
    assert Enrollment.objects.filter(user=person).count() == 2


def test_recurrence_uses_the_local_date_of_the_frozen_clock(clock):
    """apply_rules() without `today` reads django.utils.timezone.now (frozen here) in local time."""
    course = make_course()
    make_rule(course, recurrence_months=12, renew_days_before=30)
    person = UserFactory(hire_date=date(2020, 1, 1))
    clock.now = datetime(2030, 3, 1, 14, 0, tzinfo=UTC)
    assignments.apply_rules()
    complete(Enrollment.objects.get(user=person), local_dt(date(2030, 3, 15), 10))
    # Cycle 2 is due 15 March 2031 and opens on 13 February 2031 (local).
    clock.now = datetime(2031, 2, 13, 4, 59, tzinfo=UTC)  # still 12 February in New York (UTC-5)
    assert assignments.apply_rules().planned == 0
    clock.now = datetime(2031, 2, 13, 5, 0, tzinfo=UTC)  # midnight, 13 February in New York
    assert assignments.apply_rules().planned == 1
    cycle2 = Enrollment.objects.get(user=person, cycle=2)
    assert cycle2.due_date == date(2031, 3, 15)
    assert cycle2.enrolled_at == clock.now


def test_nightly_task_applies_rules(clock):
    make_rule(make_course())
    UserFactory.create_batch(3)
    clock.now = NOW
    assert tasks.apply_assignment_rules.delay().get() == 3
    assert tasks.apply_assignment_rules.delay().get() == 0
    assert Enrollment.objects.count() == 3


def test_without_recurrence_or_expiry_a_completed_course_is_not_repeated():
    course = make_course()
    make_rule(course)
    person = UserFactory()
    assignments.apply_rules(today=TODAY, now=NOW)
    complete(Enrollment.objects.get(user=person), NOW)
    far = TODAY + relativedelta(years=5)
    assert assignments.apply_rules(today=far, now=local_dt(far)).planned == 0


def test_recertification_before_certificate_expiry(clock):
    course = make_course(validity_months=24)
    make_rule(course, renew_days_before=60)  # no recurrence: the certificate's expiry drives it
    person = UserFactory(hire_date=date(2020, 1, 1))
    clock.now = NOW
    assignments.apply_rules(today=TODAY, now=NOW)
    enrollment = complete(Enrollment.objects.get(user=person), local_dt(date(2030, 4, 10), 15))
    outcome = certificates.issue_certificate(enrollment_id=enrollment.pk, now=local_dt(date(2030, 4, 10), 16))
    assert outcome.created
    expires = outcome.certificate.expires_on
    assert expires == date(2032, 4, 10)

    day_before = expires - timedelta(days=61)
    assert assignments.apply_rules(today=day_before, now=local_dt(day_before)).planned == 0
    opening = expires - timedelta(days=60)
    assert assignments.apply_rules(today=opening, now=local_dt(opening)).planned == 1

    cycle2 = Enrollment.objects.get(user=person, cycle=2)
    assert (cycle2.due_date, cycle2.source) == (expires, "recertification")


def test_recertification_from_a_certificate_row_with_recurrence_rule():
    """A certificate row made directly: its expiry, not completion + recurrence, is the next due date."""
    course = make_course(validity_months=18)
    make_rule(course, recurrence_months=12, renew_days_before=30)
    person = UserFactory(hire_date=date(2020, 1, 1))
    assignments.apply_rules(today=TODAY, now=NOW)
    enrollment = complete(Enrollment.objects.get(user=person), NOW)
    Certificate.objects.create(
        number="T-2030-000001",
        verify_code="verify-code-1",
        user=person,
        enrollment=enrollment,
        version=enrollment.version,
        learner_name="Test Person",
        course_title=course.title,
        ce_hours=0,
        completed_on=TODAY,
        issued_at=NOW,
        expires_on=date(2031, 9, 1),
    )
    one_year = TODAY + relativedelta(months=12)
    assert assignments.apply_rules(today=one_year, now=local_dt(one_year)).planned == 0
    opening = date(2031, 8, 2)
    assert assignments.apply_rules(today=opening, now=local_dt(opening)).planned == 1
    assert Enrollment.objects.get(user=person, cycle=2).due_date == date(2031, 9, 1)


def test_next_cycle_due_only_for_completed_enrollments():
    course = make_course()
    rule = make_rule(course, recurrence_months=6)
    enrollment = Enrollment(status="in_progress", completed_at=None)
    assert assignments.next_cycle_due(rule, enrollment, None) is None
    enrollment = Enrollment(status="completed", completed_at=datetime(2030, 8, 31, 12, tzinfo=UTC))
    assert assignments.next_cycle_due(rule, enrollment, None) == date(2031, 2, 28)
    assert assignments.next_cycle_due(rule, enrollment, date(2031, 1, 1)) == date(2031, 1, 1)
    rule.recurrence_months = None
    assert assignments.next_cycle_due(rule, enrollment, None) is None


# --- queries per batch ----------------------------------------------------------------------------


def _queries(**kwargs) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assignments.apply_rules(**kwargs)
    return len(ctx.captured_queries)


def test_apply_rules_queries_are_constant_per_batch_not_per_person():
    nursing = make_department("nursing")
    make_rule(make_course("a"))
    make_rule(make_course("b"), audience="department", department=nursing, recurrence_months=12)
    small = [u.pk for u in UserFactory.create_batch(10, department=nursing)]
    large = [u.pk for u in UserFactory.create_batch(300, department=nursing)]

    q_small = _queries(user_ids=small, today=TODAY, now=NOW)
    q_large = _queries(user_ids=large, today=TODAY, now=NOW)
    assert Enrollment.objects.count() == 2 * 310
    assert q_small == q_large, (q_small, q_large)

    # Completed cycles (recurrence and the certificate lookup) are still constant per batch.
    later = TODAY + relativedelta(months=12)
    for enrollment in Enrollment.objects.filter(course__slug="b"):
        complete(enrollment, NOW)
    q_small = _queries(user_ids=small, today=later, now=local_dt(later))
    q_large = _queries(user_ids=large, today=later, now=local_dt(later))
    assert Enrollment.objects.filter(cycle=2).count() == 310
    assert q_small == q_large, (q_small, q_large)

    # More batches: a fixed number more per batch, whatever the batch holds.
    new_course = make_course("c")
    make_rule(new_course)
    q_one_batch = _queries(user_ids=small, today=TODAY, now=NOW, batch_size=100)
    q_three_batches = _queries(user_ids=large, today=TODAY, now=NOW, batch_size=100)
    per_batch = (q_three_batches - q_one_batch) / 2
    assert per_batch == int(per_batch) and 0 < per_batch <= 6, (q_one_batch, q_three_batches)
    assert Enrollment.objects.filter(course=new_course).count() == 310


# --- parallel runs --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_parallel_apply_rules_make_exactly_one_enrollment_per_person_and_course():
    make_rule(make_course("a"))
    make_rule(make_course("b"), due_days=10)
    people = UserFactory.create_batch(40)
    threads_n = 8
    reports, errors = run_together(
        *[lambda: assignments.apply_rules(today=TODAY, now=NOW, batch_size=15)] * threads_n,
        barrier_timeout=30,
        join_timeout=120,
    )

    assert not any(errors), errors
    assert len(reports) == threads_n
    per_pair = Enrollment.objects.values("user", "course").annotate(n=Count("pk"))
    assert len(per_pair) == len(people) * 2
    assert {row["n"] for row in per_pair} == {1}
    assert set(Enrollment.objects.values_list("cycle", flat=True)) == {1}


# --- saving rules ---------------------------------------------------------------------------------


def test_save_assignment_rule_validates_the_audience(django_capture_on_commit_callbacks):
    course = make_course()
    nursing = make_department("nursing")
    admin = UserFactory(role=Role.ADMIN)
    bad_rules = [
        AssignmentRule(name="x", course=course, audience="department", start_date=RULE_START),
        AssignmentRule(name="x", course=course, audience="job_title", job_title="", start_date=RULE_START),
        AssignmentRule(name="x", course=course, audience="all", department=nursing, start_date=RULE_START),
        AssignmentRule(
            name="x",
            course=course,
            audience="job_title",
            job_title="RN",
            department=nursing,
            start_date=RULE_START,
        ),
    ]
    for rule in bad_rules:
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
            assignments.save_assignment_rule(rule=rule, actor=admin)
    assert not AssignmentRule.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="assignment_rule").exists()
    assert not Enrollment.objects.exists()


def test_save_assignment_rule_audits_and_assigns_at_once(clock, django_capture_on_commit_callbacks):
    clock.now = NOW
    course = make_course()
    nursing = make_department("nursing")
    admin = UserFactory(role=Role.ADMIN, department=None, username="coordinator")
    nurse = UserFactory(department=nursing, hire_date=date(2020, 1, 1))
    rule = AssignmentRule(
        name="Nursing",
        course=course,
        audience="department",
        department=nursing,
        start_date=TODAY,
        due_days=21,
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assignments.save_assignment_rule(rule=rule, actor=admin)
    assert len(callbacks) == 1
    created = AuditEvent.objects.get(action="assignment_rule.created")
    assert (created.actor, created.target_type, created.target_id) == (
        admin,
        "courses.assignmentrule",
        str(rule.pk),
    )
    assert created.data["audience"] == "department" and created.data["due_days"] == 21
    assert list(Enrollment.objects.values_list("user", "due_date")) == [(nurse.pk, date(2030, 3, 22))]

    rule.active = False
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assignments.save_assignment_rule(rule=rule, actor=admin)
    assert callbacks == []  # an inactive rule assigns nothing
    changed = AuditEvent.objects.get(action="assignment_rule.changed")
    assert changed.data["active"] is False


# --- the staff admin ------------------------------------------------------------------------------


def _logged_in(client, user):
    """Log in after the clock is frozen, so the session does not expire in the frozen future."""
    client.force_login(user)
    return client


def test_staff_admin_assigns_courses_to_a_new_person(client, admin_user, clock):
    clock.now = NOW
    admin_client = _logged_in(client, admin_user)
    make_rule(make_course("everyone"), start_date=date(2030, 2, 1), due_days=45)
    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "new-hire",
            "usable_password": "true",
            "password1": "a-long-unusual-passphrase-1",
            "password2": "a-long-unusual-passphrase-1",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert rows(user__username="new-hire") == [("new-hire", "everyone", 1, date(2030, 3, 18), "rule")]


def test_staff_admin_change_assigns_new_department_and_audits_the_role_change(client, admin_user, clock):
    clock.now = NOW
    admin_client = _logged_in(client, admin_user)
    nursing, kitchen = make_department("nursing"), make_department("kitchen")
    ward, food = make_course("ward"), make_course("food")
    make_rule(ward, audience="department", department=nursing)
    make_rule(food, audience="department", department=kitchen)
    person = UserFactory(department=nursing, hire_date=date(2020, 1, 1), role=Role.LEARNER)
    assignments.apply_rules(today=TODAY, now=NOW)
    complete(Enrollment.objects.get(user=person, course=ward), NOW)
    url = reverse("admin:accounts_user_change", args=[person.pk])

    # A change that is not a role change: not audited as one.
    response = admin_client.post(url, admin_change_form(person, job_title="Nurse"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert not AuditEvent.objects.filter(action="user.role_changed").exists()

    person.refresh_from_db()
    response = admin_client.post(url, admin_change_form(person, role=Role.SUPERVISOR, department=kitchen.pk))
    assert response.status_code == 302, response.context["adminform"].form.errors

    event = AuditEvent.objects.get(action="user.role_changed")
    assert event.actor == admin_user
    assert event.subject_user_id == person.pk
    assert event.data == {"from": "learner", "to": "supervisor"}
    assert sorted(Enrollment.objects.filter(user=person).values_list("course__slug", "status")) == [
        ("food", "not_started"),
        ("ward", "completed"),
    ]


def test_staff_record_changed_audits_only_a_real_role_change():
    person = UserFactory(role=Role.SUPERVISOR)
    assignments.staff_record_changed(user=person, role_before=Role.SUPERVISOR)
    assignments.staff_record_changed(user=person, role_before=None)
    assert not AuditEvent.objects.filter(action="user.role_changed").exists()
    assignments.staff_record_changed(user=person, role_before=Role.LEARNER)
    assert AuditEvent.objects.filter(action="user.role_changed", subject_user_id=person.pk).count() == 1
