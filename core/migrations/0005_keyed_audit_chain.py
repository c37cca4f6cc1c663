"""Key the audit chain and refuse TRUNCATE (issue 24, finding 6).

Decision: existing events are re-chained, deterministically, rather than starting a second (keyed)
epoch after an unkeyed one. A mixed log would leave an unkeyed prefix that anyone with database write
access could still rewrite, and every verifier would need to know where the epochs meet. So:

1. The old unkeyed SHA-256 chain is verified first; if it is broken the migration stops (a tampered log
   must be investigated, never laundered into a valid keyed chain).
2. Every event's hash is recomputed in id order as HMAC-SHA256(AUDIT_HMAC_KEY, the same canonical
   content), with the append-only trigger disabled for this one transaction, and the head row follows.
   The same rows and key always give the same hashes.
3. A statement-level trigger refuses TRUNCATE as the row trigger refuses UPDATE and DELETE, except for a
   PostgreSQL superuser: a superuser can disable any trigger anyway, and Django's test and `flush`
   machinery truncates as one. The application's own role must not be a superuser and must not hold
   TRUNCATE (README, production section).

The digest functions are frozen here (not imported) so later code changes cannot alter this migration.
"""

import hashlib
import hmac
import json

from django.conf import settings
from django.db import migrations

GENESIS = "0" * 64

TRUNCATE_GUARD = """
CREATE OR REPLACE FUNCTION core_auditevent_no_truncate() RETURNS trigger AS $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit events are append-only (TRUNCATE refused)' USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS core_auditevent_no_truncate ON core_auditevent;
CREATE TRIGGER core_auditevent_no_truncate BEFORE TRUNCATE ON core_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION core_auditevent_no_truncate();
"""
DROP_TRUNCATE_GUARD = """
DROP TRIGGER IF EXISTS core_auditevent_no_truncate ON core_auditevent;
DROP FUNCTION IF EXISTS core_auditevent_no_truncate();
"""


def _canonical(prev, event) -> bytes:
    return json.dumps(
        {
            "prev": prev,
            "at": event.occurred_at.isoformat(),
            "actor": event.actor_id,
            "action": event.action,
            "target": f"{event.target_type}:{event.target_id}",
            "subject": event.subject_user_id,
            "data": event.data,
        },
        sort_keys=True,
        default=str,
        ensure_ascii=False,
    ).encode()


def rechain(apps, schema_editor):
    AuditEvent = apps.get_model("core", "AuditEvent")
    AuditHead = apps.get_model("core", "AuditHead")
    events = list(AuditEvent.objects.order_by("pk"))
    if not events:
        return
    prev = GENESIS
    for event in events:
        if event.prev_hash != prev or event.hash != hashlib.sha256(_canonical(prev, event)).hexdigest():
            raise RuntimeError(
                f"audit chain broken at event #{event.pk} before keying: investigate; it is not re-chained"
            )
        prev = event.hash
    key = (getattr(settings, "AUDIT_HMAC_KEY", "") or "").encode()
    if not key:
        raise RuntimeError("Set AUDIT_HMAC_KEY before migrating: existing audit events are re-chained with it")
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # pending FK checks would block ALTER TABLE
        schema_editor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER core_auditevent_no_change")
    prev = GENESIS
    for event in events:
        event.prev_hash = prev
        event.hash = hmac.new(key, _canonical(prev, event), hashlib.sha256).hexdigest()
        prev = event.hash
    AuditEvent.objects.bulk_update(events, ["prev_hash", "hash"], batch_size=500)
    AuditHead.objects.update_or_create(pk=1, defaults={"last_hash": prev})
    if postgres:
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        schema_editor.execute("ALTER TABLE core_auditevent ENABLE TRIGGER core_auditevent_no_change")


def guard_truncate(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRUNCATE_GUARD)


def unguard_truncate(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRUNCATE_GUARD)


class Migration(migrations.Migration):
    dependencies = [("core", "0004_audit_head_row")]
    operations = [
        migrations.RunPython(rechain, migrations.RunPython.noop),
        migrations.RunPython(guard_truncate, unguard_truncate),
    ]
