"""The audit log: append (inside the caller's transaction), verify the keyed chain, publish checkpoints.

Tamper evidence, in three layers (issue 24, finding 6):
- Each event's hash is an HMAC-SHA256, keyed by AUDIT_HMAC_KEY from the environment (never stored in
  the database), over its content and the previous event's hash. Someone who can write the database
  but does not hold the key cannot recompute a valid chain after changing, removing or inserting rows.
- PostgreSQL triggers refuse UPDATE, DELETE and TRUNCATE of audit rows (core/migrations 0003, 0005),
  and the application's role should not hold TRUNCATE at all (README, production).
- Checkpoints of the chain (the hashes of every event since the previous checkpoint, themselves
  HMAC-signed) are published outside the database on a schedule: appended to a file in
  AUDIT_CHECKPOINT_DIR and written to the log. `verify_chain` compares the database with them, so
  even a rewrite by someone holding the key is detected and the first bad event named. Every
  evidence pack carries the checkpoints.
"""

import hashlib
import hmac
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from .models import AuditEvent, AuditHead

GENESIS = "0" * 64
CHECKPOINT_FILE = "audit-checkpoints.jsonl"
logger = logging.getLogger("elearn.audit")


def hmac_key() -> bytes:
    key = getattr(settings, "AUDIT_HMAC_KEY", "") or ""
    if not key:
        raise ImproperlyConfigured(
            "Set AUDIT_HMAC_KEY: the audit chain is keyed (never stored in the database)."
        )
    return key.encode()


def canonical_event(
    prev_hash: str, *, occurred_at, actor_id, action, target_type, target_id, subject_user_id, data
) -> bytes:
    return json.dumps(
        {
            "prev": prev_hash,
            "at": occurred_at.isoformat(),
            "actor": actor_id,
            "action": action,
            "target": f"{target_type}:{target_id}",
            "subject": subject_user_id,
            "data": data,
        },
        sort_keys=True,
        default=str,
        ensure_ascii=False,
    ).encode()


def _digest(prev_hash: str, **fields) -> str:
    return hmac.new(hmac_key(), canonical_event(prev_hash, **fields), hashlib.sha256).hexdigest()


def record(
    *, action: str, target, actor=None, subject_user_id: int | None = None, data: dict | None = None, now=None
) -> AuditEvent:
    """Append one event. Must run inside the transaction of the change it records, so both commit or
    neither does; the head row lock serialises writers."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record must run inside the transaction of the change it records")
    now = now or timezone.now()
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        return _record_postgresql(
            connection,
            action=action,
            target=target,
            actor=actor,
            subject_user_id=subject_user_id,
            data=data,
            now=now,
        )
    head = AuditHead.objects.select_for_update().filter(pk=1).first()
    if head is None:  # the very first event (the head row is created once, then only locked)
        AuditHead.objects.get_or_create(pk=1)
        head = AuditHead.objects.select_for_update().get(pk=1)
    data = json.loads(json.dumps(data or {}, default=str))
    target_type = target._meta.label_lower if hasattr(target, "_meta") else str(target[0])
    target_id = str(target.pk) if hasattr(target, "_meta") else str(target[1])
    actor_id = actor.pk if actor is not None else None
    digest = _digest(
        head.last_hash,
        occurred_at=now,
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        subject_user_id=subject_user_id,
        data=data,
    )
    event = AuditEvent.objects.create(
        occurred_at=now,
        actor=actor,
        actor_label=str(actor) if actor else "system",
        action=action,
        target_type=target_type,
        target_id=target_id,
        subject_user_id=subject_user_id,
        data=data,
        prev_hash=head.last_hash,
        hash=digest,
    )
    head.last_hash = digest
    head.save(update_fields=["last_hash"])
    return event


def _record_postgresql(connection, *, action, target, actor, subject_user_id, data, now) -> AuditEvent:
    """`record` in two round trips of SQL written here, not compiled by the ORM (it runs inside every
    submit; issue 18): lock the head (creating it for the very first event), then insert the event and
    move the head in one statement. The same rows, hashes and lock order as the ORM path."""
    events, heads = AuditEvent._meta.db_table, AuditHead._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT last_hash FROM {heads} WHERE id = 1 FOR UPDATE")  # noqa: S608 - table name from the model
        row = cursor.fetchone()
        if row is None:  # the very first event (the head row is created once, then only locked)
            cursor.execute(
                f"INSERT INTO {heads} (id, last_hash) VALUES (1, %s) ON CONFLICT (id) DO NOTHING",  # noqa: S608
                [GENESIS],
            )
            cursor.execute(f"SELECT last_hash FROM {heads} WHERE id = 1 FOR UPDATE")  # noqa: S608
            row = cursor.fetchone()
        prev_hash = row[0]
        data = json.loads(json.dumps(data or {}, default=str))
        target_type = target._meta.label_lower if hasattr(target, "_meta") else str(target[0])
        target_id = str(target.pk) if hasattr(target, "_meta") else str(target[1])
        actor_id = actor.pk if actor is not None else None
        fields = {
            "occurred_at": now,
            "actor_id": actor_id,
            "actor_label": str(actor) if actor else "system",
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "subject_user_id": subject_user_id,
            "data": data,
            "prev_hash": prev_hash,
        }
        fields["hash"] = _digest(
            prev_hash,
            occurred_at=now,
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            subject_user_id=subject_user_id,
            data=data,
        )
        columns = list(fields)
        values = [json.dumps(v) if c == "data" else v for c, v in fields.items()]
        cursor.execute(
            f"WITH event AS (INSERT INTO {events} ({', '.join(columns)}) "  # noqa: S608 - names from the model
            f"VALUES ({', '.join('%s::jsonb' if c == 'data' else '%s' for c in columns)}) RETURNING id), "
            f"head AS (UPDATE {heads} SET last_hash = %s WHERE id = 1) SELECT id FROM event",
            [*values, fields["hash"]],
        )
        event_id = cursor.fetchone()[0]
    event = AuditEvent(id=event_id, **{k: v for k, v in fields.items() if k != "actor_id"}, actor=actor)
    event._state.adding = False
    event._state.db = connection.alias
    return event


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    events: int
    first_broken_id: int | None
    message: str


def _event_digest(event: AuditEvent, prev: str) -> str:
    return _digest(
        prev,
        occurred_at=event.occurred_at,
        actor_id=event.actor_id,
        action=event.action,
        target_type=event.target_type,
        target_id=event.target_id,
        subject_user_id=event.subject_user_id,
        data=event.data,
    )


def verify_chain(*, batch: int = 2000, checkpoints: bool = True) -> ChainCheck:
    """Recompute the keyed chain, then hold the database against the published checkpoints; the
    first bad event (broken link, or differing from / missing against a checkpoint) is named."""
    published, problems = read_checkpoints() if checkpoints else ({}, [])
    if problems:
        return ChainCheck(False, 0, None, problems[0])
    prev = GENESIS
    count = 0
    broken: tuple[int, str] | None = None
    seen: set[int] = set()
    for event in AuditEvent.objects.order_by("pk").iterator(chunk_size=batch):
        count += 1
        seen.add(event.pk)
        if broken is None and (event.prev_hash != prev or event.hash != _event_digest(event, prev)):
            broken = (event.pk, f"audit chain broken at event #{event.pk}")
        expected = published.get(event.pk)
        if expected is not None and expected[0] != event.hash:
            mismatch = (
                event.pk,
                f"audit chain rewritten: event #{event.pk} differs from the checkpoint of {expected[1]}",
            )
            broken = min(broken, mismatch) if broken else mismatch
        prev = event.hash
    missing = sorted(pk for pk in published if pk not in seen)
    if missing:
        gone = (
            missing[0],
            f"audit chain rewritten: event #{missing[0]} of the checkpoint of {published[missing[0]][1]} is missing",
        )
        broken = min(broken, gone) if broken else gone
    if broken is not None:
        return ChainCheck(False, count, broken[0], broken[1])
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and head.last_hash != prev:
        return ChainCheck(False, count, None, "audit head does not match the last event (events deleted?)")
    suffix = f", {len(published)} checked against checkpoints" if published else ""
    return ChainCheck(True, count, None, f"audit chain intact ({count} events{suffix})")


# --- checkpoints published outside the database --------------------------------------------------


def checkpoint_path() -> Path | None:
    folder = getattr(settings, "AUDIT_CHECKPOINT_DIR", "") or ""
    return Path(folder) / CHECKPOINT_FILE if folder else None


def _sign(entry: dict) -> str:
    body = json.dumps({k: v for k, v in entry.items() if k != "mac"}, sort_keys=True).encode()
    return hmac.new(hmac_key(), body, hashlib.sha256).hexdigest()


def read_checkpoints() -> tuple[dict[int, tuple[str, str]], list[str]]:
    """{event id: (hash, checkpoint time)} from every published checkpoint, and problems (a line that
    fails its signature is a forged or damaged checkpoint: verification fails on it)."""
    path = checkpoint_path()
    published: dict[int, tuple[str, str]] = {}
    if path is None or not path.exists():
        return published, []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            valid = hmac.compare_digest(entry.get("mac", ""), _sign(entry))
        except (ValueError, AttributeError):
            valid = False
        if not valid:
            return {}, [f"audit checkpoint line {number} of {path} fails its signature (forged or damaged)"]
        for pk, digest in entry["hashes"]:
            published[int(pk)] = (digest, entry["at"])
    return published, []


def _last_checkpoint(path: Path) -> dict | None:
    if not path.exists():
        return None
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return json.loads(lines[-1]) if lines else None


def publish_checkpoint(*, now=None) -> dict | None:
    """Append the hashes of the events since the last checkpoint, signed, to the checkpoint file and
    write the head to the log. Nothing new and a checkpoint already there: only the log line."""
    now = now or timezone.now()
    events = AuditEvent.objects.count()
    last = AuditEvent.objects.order_by("-pk").values_list("pk", "hash").first()
    path = checkpoint_path()
    previous = _last_checkpoint(path) if path else None
    since = previous["last_id"] if previous else 0
    logger.info(
        "audit checkpoint: %s events, head event #%s hash %s",
        events,
        last[0] if last else None,
        last[1] if last else GENESIS,
    )
    if path is None or (previous is not None and last is not None and previous["last_id"] == last[0]):
        return None
    hashes = [
        [pk, digest]
        for pk, digest in AuditEvent.objects.filter(pk__gt=since).order_by("pk").values_list("pk", "hash")
    ]
    entry = {
        "at": now.isoformat(),
        "events": events,
        "last_id": last[0] if last else 0,
        "last_hash": last[1] if last else GENESIS,
        "hashes": hashes,
    }
    entry["mac"] = _sign(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return entry


def checkpoint_file_bytes() -> bytes:
    """The published checkpoints as they are on disk (for evidence packs); empty when none."""
    path = checkpoint_path()
    return path.read_bytes() if path is not None and path.exists() else b""
