"""The append-only audit log on PostgreSQL (core/audit.py, trigger from core/migrations/0003):

- 8 writers released together by a barrier, 200 events each, on their own connections: the chain of
  1,600 events verifies (the head row lock serialises appends; without it two writers chain onto the
  same previous hash and verification fails at the fork).
- UPDATE and DELETE of an audit row are refused by the database, through the ORM and raw SQL alike.
- `manage.py verify_audit_chain` names the first broken link after a row is altered or removed behind
  the trigger's back (the test disables the trigger for that, and always re-enables it), and a
  truncated log is reported through the head that no longer matches.
"""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from core import audit
from core.models import AuditEvent, AuditHead
from tests.concurrency import run_together as _run_together

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

WRITERS = 8
EVENTS_EACH = 200


def run_together(jobs):
    return _run_together(*jobs, barrier_timeout=30, join_timeout=300)[1]


def writer(n: int):
    def write():
        for i in range(EVENTS_EACH):
            with transaction.atomic():
                audit.record(action="reliability.parallel", target=("writer", n), data={"writer": n, "i": i})

    return write


def test_eight_parallel_writers_of_200_events_leave_a_chain_that_verifies():
    errors = run_together([writer(n) for n in range(WRITERS)])
    assert errors == [None] * WRITERS, errors
    assert AuditEvent.objects.count() == WRITERS * EVENTS_EACH
    result = audit.verify_chain()
    assert result.ok and result.events == WRITERS * EVENTS_EACH, result.message
    # every writer's events are all there, in its own order
    for n in range(WRITERS):
        mine = list(AuditEvent.objects.filter(target_id=str(n)).order_by("pk").values_list("data", flat=True))
        assert [d["i"] for d in mine] == list(range(EVENTS_EACH))
    out = StringIO()
    call_command("verify_audit_chain", stdout=out)
    assert f"audit chain intact ({WRITERS * EVENTS_EACH} events)" in out.getvalue()


def some_events(n: int = 5) -> list[AuditEvent]:
    for i in range(n):
        with transaction.atomic():
            audit.record(action="reliability.event", target=("thing", i), data={"i": i})
    return list(AuditEvent.objects.order_by("pk"))


def test_update_and_delete_of_audit_rows_are_refused_by_the_database():
    events = some_events(3)
    middle = events[1]
    attempts = [
        lambda: AuditEvent.objects.filter(pk=middle.pk).update(action="tampered"),
        lambda: AuditEvent.objects.filter(pk=middle.pk).delete(),
        lambda: middle.delete(),
        lambda: connection.cursor().execute(
            "UPDATE core_auditevent SET data = '{}' WHERE id = %s", [middle.pk]
        ),
        lambda: connection.cursor().execute("DELETE FROM core_auditevent"),
    ]
    for attempt in attempts:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            attempt()
    assert list(AuditEvent.objects.order_by("pk")) == events
    assert AuditEvent.objects.get(pk=middle.pk).action == "reliability.event"
    assert audit.verify_chain().ok


class TriggerOff:
    """Disable the append-only trigger (as a superuser could) and always re-enable it."""

    def __enter__(self):
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER core_auditevent_no_change")

    def __exit__(self, *exc):
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE core_auditevent ENABLE TRIGGER core_auditevent_no_change")


def verify_command() -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_audit_chain", stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(exit_.code), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("tampering", ["edit data", "edit time", "delete"])
def test_verify_audit_chain_reports_the_first_broken_link(tampering):
    events = some_events(6)
    assert verify_command()[0] == 0
    target, after = events[2], events[3]
    try:
        with TriggerOff(), connection.cursor() as cursor:
            if tampering == "edit data":
                cursor.execute("UPDATE core_auditevent SET data = '{\"i\": 99}' WHERE id = %s", [target.pk])
            elif tampering == "edit time":
                cursor.execute(
                    "UPDATE core_auditevent SET occurred_at = occurred_at - interval '1 day' WHERE id = %s",
                    [target.pk],
                )
            else:
                cursor.execute("DELETE FROM core_auditevent WHERE id = %s", [target.pk])
        code, out, err = verify_command()
        assert code == 1 and not out
        broken = after.pk if tampering == "delete" else target.pk  # a deleted row breaks its successor
        assert f"audit chain broken at event #{broken}" in err, err
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT tgenabled FROM pg_trigger WHERE tgname = 'core_auditevent_no_change' AND NOT tgisinternal"
            )
            assert cursor.fetchone()[0] == "O", "the trigger was left disabled"


def test_a_truncated_log_is_reported_through_the_head():
    some_events(4)
    assert AuditHead.objects.get().last_hash == AuditEvent.objects.order_by("pk").last().hash
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE core_auditevent")  # a statement-level wipe: the row trigger does not fire
    code, _, err = verify_command()
    assert code == 1 and "audit head does not match the last event" in err
