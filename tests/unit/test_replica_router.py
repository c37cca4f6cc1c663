"""Reports read from the replica alias when DATABASE_REPLICA_URL configures one (core/db.py); without
it, and for every write or read inside a transaction, everything stays on `default`.

The replica here is a second connection to the same test database (as a streaming replica would hold
the same rows), so the assertions are about which connection each query went through."""

import contextlib
from datetime import timedelta

import pytest
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from core import db as core_db
from courses.enrollment import services
from courses.reports import selectors as reports
from tests.course_helpers import load_tiny, take_quiz
from tests.factories import UserFactory


@pytest.fixture(scope="module", autouse=True)
def replica_alias(django_db_setup, django_db_blocker):
    """A `replica` alias on the test database, registered before the test case is built (the test
    case only lets a test use aliases it knows)."""
    connections.settings[core_db.REPLICA] = {**connections[DEFAULT_DB_ALIAS].settings_dict}
    yield
    with django_db_blocker.unblock():
        connections[core_db.REPLICA].close()
    del connections[core_db.REPLICA]
    del connections.settings[core_db.REPLICA]


@contextlib.contextmanager
def replica_unconfigured():
    settings_dict = connections.settings.pop(core_db.REPLICA)
    try:
        yield
    finally:
        connections.settings[core_db.REPLICA] = settings_dict


def run_reports(viewer, tiny):
    filters = reports.parse_filters({}, courses=[tiny.course])
    matrix = reports.team_matrix(viewer, filters)
    overdue = list(reports.overdue_enrollments(viewer))
    stats = reports.quiz_statistics(viewer, quiz=tiny.modules[0].quiz)
    weekly = reports.completions_by_week(viewer)
    return matrix, overdue, stats, weekly


@pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, core_db.REPLICA])
def test_report_selectors_read_from_the_replica_only_when_one_is_configured(tmp_path):
    tiny = load_tiny(tmp_path)
    admin = UserFactory(role=Role.ADMIN)
    learner = UserFactory()
    services.enroll(user=learner, course=tiny.course, due_date=timezone.localdate() - timedelta(days=3))
    for lesson_id in tiny.modules[0].lessons.values_list("pk", flat=True):
        services.complete_lesson(user=learner, lesson_id=lesson_id)
    take_quiz(learner, tiny.modules[0].quiz, tiny.specs)

    replica = connections[core_db.REPLICA]
    with replica_unconfigured(), CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as primary:
        assert not core_db.replica_configured()
        without = run_reports(admin, tiny)
    assert len(primary) > 5  # not configured: everything on default

    # configured: every report read goes through the replica's connection
    with (
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as primary,
        CaptureQueriesContext(replica) as replicated,
    ):
        matrix, overdue, stats, weekly = run_reports(admin, tiny)
    # on the primary only the write of the stored item statistics (quiz_statistics keeps a snapshot)
    writes = [q["sql"] for q in primary if q["sql"] not in ("BEGIN", "COMMIT")]
    assert len(replicated) > 5 and writes and all("quizzes_itemstatisticssnapshot" in sql for sql in writes)
    # the same answers from the copy
    assert [r.person.pk for r in matrix.rows] == [r.person.pk for r in without[0].rows]
    assert [e.pk for e in overdue] == [e.pk for e in without[1]] != []
    assert stats["attempts"] == without[2]["attempts"] == 1
    assert weekly == without[3]

    # outside a report selector, and inside a transaction on the primary, reads stay on default
    with CaptureQueriesContext(replica) as replicated:
        services.enroll(user=UserFactory(), course=tiny.course)
        with transaction.atomic():
            reports.quiz_statistics(admin, quiz=tiny.modules[0].quiz)
    assert [q["sql"] for q in replicated] == []
