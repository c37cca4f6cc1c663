"""Finding 6 (issue 24): the audit chain could be rewritten. The trigger blocked UPDATE and DELETE but
not TRUNCATE; the chain was an unkeyed SHA-256, so the whole log was truncated and re-inserted without
one event, with recomputed hashes, and `verify_chain` said "intact".

Now: the chain is an HMAC keyed from the environment; TRUNCATE is refused by a trigger (and the
application role holds no TRUNCATE); signed checkpoints published outside the database let
`verify_chain` catch even a rewrite made with the key, naming the first bad event; migration 0005
re-chains a legacy log deterministically, refusing a broken one."""

import hashlib
import importlib
import json
import logging
from io import StringIO

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from core import audit
from core.models import AuditEvent, AuditHead

pytestmark = pytest.mark.django_db

rechain_migration = importlib.import_module("core.migrations.0005_keyed_audit_chain")


def some_events(n: int) -> list[AuditEvent]:
    for i in range(n):
        with transaction.atomic():
            audit.record(action="finding6.event", target=("thing", i), data={"i": i})
    return list(AuditEvent.objects.order_by("pk"))


def fields(event: AuditEvent) -> dict:
    return {
        "occurred_at": event.occurred_at,
        "actor_id": event.actor_id,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "subject_user_id": event.subject_user_id,
        "data": event.data,
    }


def sha256_digest(prev: str, event: AuditEvent) -> str:
    """The old, unkeyed scheme: what an attacker with database access could always recompute."""
    return hashlib.sha256(audit.canonical_event(prev, **fields(event))).hexdigest()


def keyed_digest(prev: str, event: AuditEvent, key: bytes) -> str:
    import hmac

    return hmac.new(key, audit.canonical_event(prev, **fields(event)), hashlib.sha256).hexdigest()


class TriggersOff:
    """What an attacker with the table owner's rights does first; always re-enabled."""

    def __enter__(self):
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # (no pending FK checks block ALTER TABLE)
            cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER USER")

    def __exit__(self, *exc):
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE core_auditevent ENABLE TRIGGER USER")


def rewrite(events: list[AuditEvent], *, drop: int, digest) -> None:
    """Truncate the log and re-insert it without events[drop], rehashing from there with `digest`,
    head included: the attack of the finding."""
    with TriggersOff(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE core_auditevent")
    prev = audit.GENESIS
    kept = [e for i, e in enumerate(events) if i != drop]
    for i, event in enumerate(kept):
        new_hash = event.hash if i < drop else digest(prev, event)
        AuditEvent.objects.bulk_create(
            [
                AuditEvent(
                    **{
                        **fields(event),
                        "pk": event.pk,
                        "actor_label": event.actor_label,
                        "prev_hash": prev,
                        "hash": new_hash,
                    }
                )
            ]
        )
        prev = new_hash
    AuditHead.objects.filter(pk=1).update(last_hash=prev)


def test_finding6_the_old_attack_fools_an_unkeyed_chain_but_not_the_keyed_one():
    events = some_events(6)
    assert audit.verify_chain().ok
    rewrite(events, drop=2, digest=sha256_digest)
    # Before: every link of the rewritten log checks out under the unkeyed scheme.
    rows = list(AuditEvent.objects.order_by("pk"))
    for event in rows[2:]:
        assert event.hash == sha256_digest(event.prev_hash, event)
    assert len(rows) == 5 and rows[-1].hash == AuditHead.objects.get().last_hash
    # After: without the key the rewrite cannot be made consistent; the first bad event is named.
    result = audit.verify_chain()
    assert not result.ok and result.first_broken_id == events[3].pk
    assert result.message == f"audit chain broken at event #{events[3].pk}"


def test_finding6_truncate_is_refused_by_a_trigger_for_the_application_role():
    some_events(3)
    role = f"{connection.settings_dict['NAME']}_app_probe"[:60]
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # (no pending FK checks in the way of TRUNCATE)
        cursor.execute(f'CREATE ROLE "{role}" NOLOGIN')  # rolled back with the test's transaction
        # Even granted TRUNCATE explicitly, the trigger refuses it (as it refuses UPDATE and DELETE).
        cursor.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON core_auditevent TO "{role}"')
        for statement in (
            "TRUNCATE core_auditevent",
            "DELETE FROM core_auditevent",
            "UPDATE core_auditevent SET data = '{}'",
        ):
            with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
                cursor.execute(f'SET LOCAL ROLE "{role}"')
                cursor.execute(statement)
        # With the README's grants the role holds no TRUNCATE at all.
        cursor.execute(f'REVOKE UPDATE, DELETE, TRUNCATE ON core_auditevent FROM "{role}"')
        with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
            cursor.execute(f'SET LOCAL ROLE "{role}"')
            cursor.execute("TRUNCATE core_auditevent")
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'core_auditevent'::regclass AND NOT tgisinternal ORDER BY 1"
        )
        assert [r[0] for r in cursor.fetchall()] == [
            "core_auditevent_no_change",
            "core_auditevent_no_truncate",
        ]
    assert AuditEvent.objects.count() == 3 and audit.verify_chain().ok


@pytest.fixture
def checkpoints(settings, tmp_path):
    settings.AUDIT_CHECKPOINT_DIR = str(tmp_path / "checkpoints")
    return tmp_path / "checkpoints" / audit.CHECKPOINT_FILE


def verify_command() -> tuple[int, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_audit_chain", stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(exit_.code), err.getvalue()
    return 0, out.getvalue()


def test_finding6_a_rewrite_with_the_key_is_caught_by_the_published_checkpoints(checkpoints, caplog):
    events = some_events(4)
    with caplog.at_level(logging.INFO, logger="elearn.audit"):
        entry = audit.publish_checkpoint()
    assert entry["last_id"] == events[-1].pk and len(entry["hashes"]) == 4
    assert f"head event #{events[-1].pk} hash {events[-1].hash}" in caplog.text  # published to the log too
    events = some_events(2)  # (the whole log, in order)
    assert audit.publish_checkpoint()["hashes"] == [[e.pk, e.hash] for e in events[4:]]
    assert audit.publish_checkpoint() is None  # nothing new: no new line
    assert len(checkpoints.read_text().splitlines()) == 2
    code, out = verify_command()
    assert code == 0 and "audit chain intact (6 events, 6 checked against checkpoints)" in out

    # An attacker holding the key drops event 3 and re-chains the rest consistently.
    key = settings.AUDIT_HMAC_KEY.encode()
    rewrite(events, drop=2, digest=lambda prev, e: keyed_digest(prev, e, key))
    assert audit.verify_chain(checkpoints=False).ok  # the chain alone cannot tell
    result = audit.verify_chain()
    assert not result.ok and result.first_broken_id == events[2].pk
    code, err = verify_command()
    assert code == 1 and f"event #{events[2].pk} of the checkpoint of" in err and "is missing" in err


def test_finding6_a_changed_event_rechained_with_the_key_is_named(checkpoints):
    events = some_events(5)
    audit.publish_checkpoint()
    key = settings.AUDIT_HMAC_KEY.encode()
    with TriggersOff():
        AuditEvent.objects.filter(pk=events[1].pk).update(data={"i": 99})
        prev = events[0].hash
        for event in AuditEvent.objects.order_by("pk")[1:]:
            digest = keyed_digest(prev, event, key)
            AuditEvent.objects.filter(pk=event.pk).update(prev_hash=prev, hash=digest)
            prev = digest
    AuditHead.objects.filter(pk=1).update(last_hash=prev)
    assert audit.verify_chain(checkpoints=False).ok
    result = audit.verify_chain()
    assert not result.ok and result.first_broken_id == events[1].pk
    assert f"event #{events[1].pk} differs from the checkpoint" in result.message


def test_finding6_a_forged_checkpoint_line_fails_verification(checkpoints):
    some_events(2)
    audit.publish_checkpoint()
    entry = json.loads(checkpoints.read_text())
    entry["hashes"][0][1] = "f" * 64  # "re-publish" a rewritten hash without the key
    checkpoints.write_text(json.dumps(entry) + "\n")
    result = audit.verify_chain()
    assert not result.ok and "fails its signature" in result.message


def test_checkpoints_are_published_on_a_schedule_and_by_command(checkpoints):
    assert (
        settings.CELERY_BEAT_SCHEDULE["publish-audit-checkpoint"]["task"]
        == "core.tasks.publish_audit_checkpoint"
    )
    from core.tasks import publish_audit_checkpoint

    events = some_events(2)
    assert publish_audit_checkpoint() == events[-1].pk
    some_events(1)
    out = StringIO()
    call_command("audit_checkpoint", stdout=out)
    assert "checkpoint: 3 events" in out.getvalue() and len(checkpoints.read_text().splitlines()) == 2


def test_migration_rechains_a_legacy_log_deterministically_and_refuses_a_broken_one():
    events = some_events(4)
    # Make it a legacy (unkeyed) log, as before migration 0005.
    with TriggersOff():
        prev = audit.GENESIS
        for event in events:
            digest = sha256_digest(prev, event)
            AuditEvent.objects.filter(pk=event.pk).update(prev_hash=prev, hash=digest)
            prev = digest
    AuditHead.objects.filter(pk=1).update(last_hash=prev)
    assert not audit.verify_chain().ok
    with connection.schema_editor(atomic=False) as editor:
        rechain_migration.rechain(django_apps, editor)
    first = list(AuditEvent.objects.order_by("pk").values_list("hash", flat=True))
    assert audit.verify_chain().ok and first == [e.hash for e in events]  # the same keyed hashes again
    # A legacy log that is already broken is never laundered into a valid keyed chain.
    with TriggersOff():
        prev = audit.GENESIS
        for event in events:
            digest = sha256_digest(prev, event)
            AuditEvent.objects.filter(pk=event.pk).update(prev_hash=prev, hash=digest)
            prev = digest
        AuditEvent.objects.filter(pk=events[2].pk).update(action="tampered")
    refused = pytest.raises(RuntimeError, match=f"audit chain broken at event #{events[2].pk} before keying")
    with refused, connection.schema_editor(atomic=False) as editor:
        rechain_migration.rechain(django_apps, editor)


def test_production_requires_the_key():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="AUDIT_HMAC_KEY"), pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "AUDIT_HMAC_KEY", "")
        audit.hmac_key()
