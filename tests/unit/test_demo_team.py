"""The embedded run's demo (issue 17, point 10): `manage.py seed_demo` builds 24 fictitious staff in three
departments through the services, rich enough that every report shows something on first run, and
consistent (check_progress finds nothing to fix). Built once for the module: it loads the real course."""

import io

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.test import TestCase, override_settings

from accounts.models import Department, User, staff_members
from courses import scope as course_scope
from courses.demo import TEAM
from courses.models import Certificate, Enrollment, Notification, SkillSignoff
from courses.reports import selectors as reports
from quizzes.models import Attempt

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """seed_demo once, inside a transaction rolled back at the end of the module."""
    with django_db_blocker.unblock(), override_settings(COURSE_ALLOW_UNREVIEWED=True):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            out = io.StringIO()
            # The outer transaction never commits: run the work queued on commit (certificates,
            # reminder emails) as the embedded run does when the demo's transaction commits.
            with TestCase.captureOnCommitCallbacks(execute=True):
                call_command("seed_demo", stdout=out)
            yield out.getvalue()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def supervisor(demo, db):
    return User.objects.get(username="supervisor")


def test_the_team_is_24_staff_in_three_departments_under_the_demo_supervisor(demo, supervisor):
    assert "Demo team: 24 staff in three departments" in demo
    team = User.objects.filter(username__in=[t[0] for t in TEAM])
    assert team.count() == 24
    assert set(team.values_list("department__code", flat=True)) == {"residential", "outpatient", "detox"}
    assert Department.objects.count() == 3
    visible = set(course_scope.visible_staff(supervisor).values_list("username", flat=True))
    assert {t[0] for t in TEAM} <= visible
    # the admin demo account and the surveyor are not staff
    assert not staff_members().filter(username__in=["admin", "surveyor"]).exists()


def test_every_action_item_has_people_in_it(supervisor):
    items = reports.team_action_items(supervisor)
    assert len(items.overdue) >= 3
    assert len(items.failing) >= 2
    assert len(items.signoffs) >= 2
    assert len(items.expiring) >= 2 and all(0 <= c.days_left <= 30 for c in items.expiring)


def test_the_histories_show_what_the_reports_are_for(supervisor):
    demo_people = User.objects.filter(username__startswith="demo.")
    statuses = set(Enrollment.objects.filter(user__in=demo_people).values_list("status", flat=True))
    assert statuses == {"not_started", "in_progress", "completed", "exempt"}
    assert Attempt.objects.filter(user__in=demo_people, passed=False, state="submitted").count() >= 5
    assert Attempt.objects.filter(user__in=demo_people, passed=True).count() >= 30
    assert (
        Notification.objects.filter(status=Notification.Status.SENT, enrollment__user__in=demo_people).count()
        >= 4
    )
    assert Certificate.objects.filter(user__in=demo_people).count() >= 6
    assert SkillSignoff.objects.filter(enrollment__user__in=demo_people).exists()
    assert not mail.outbox or all(m.to[0].endswith("@example.org") for m in mail.outbox)


def test_charts_and_item_statistics_have_data(supervisor):
    weeks = reports.completions_by_week(supervisor)
    assert sum(weeks["overall"]) >= 3 and len(weeks["departments"]) >= 2
    quiz = Enrollment.objects.filter(user__username="demo.rivera").get().version.modules.first().quiz
    stats = reports.quiz_statistics(supervisor, quiz=quiz)
    assert stats["attempts"] >= 10
    facilities = {round(s.facility, 2) for s in stats["items"] if s.facility is not None}
    assert len(facilities) >= 3, "the answers vary from question to question"


def test_stored_progress_matches_the_raw_records_and_a_second_run_adds_nothing(demo):
    out = io.StringIO()
    call_command("check_progress", stdout=out)
    assert "0 differ" in out.getvalue() or "no differences" in out.getvalue().lower(), out.getvalue()
    before = (User.objects.count(), Attempt.objects.count(), Enrollment.objects.count())
    call_command("seed_demo", stdout=io.StringIO())
    assert (User.objects.count(), Attempt.objects.count(), Enrollment.objects.count()) == before
