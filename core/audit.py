"""The audit log: append (inside the caller's transaction) and verify the hash chain."""

import hashlib
import json
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from .models import AuditEvent, AuditHead

GENESIS = "0" * 64


def _digest(
    prev_hash: str, *, occurred_at, actor_id, action, target_type, target_id, subject_user_id, data
) -> str:
    payload = json.dumps(
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
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def record(
    *, action: str, target, actor=None, subject_user_id: int | None = None, data: dict | None = None, now=None
) -> AuditEvent:
    """Append one event. Must run inside the transaction of the change it records, so both commit or
    neither does; the head row lock serialises writers."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record must run inside the transaction of the change it records")
    now = now or timezone.now()
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


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    events: int
    first_broken_id: int | None
    message: str


def verify_chain(*, batch: int = 2000) -> ChainCheck:
    prev = GENESIS
    count = 0
    for event in AuditEvent.objects.order_by("pk").iterator(chunk_size=batch):
        count += 1
        expected = _digest(
            prev,
            occurred_at=event.occurred_at,
            actor_id=event.actor_id,
            action=event.action,
            target_type=event.target_type,
            target_id=event.target_id,
            subject_user_id=event.subject_user_id,
            data=event.data,
        )
        if event.prev_hash != prev or event.hash != expected:
            return ChainCheck(False, count, event.pk, f"audit chain broken at event #{event.pk}")
        prev = event.hash
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and head.last_hash != prev:
        return ChainCheck(False, count, None, "audit head does not match the last event (events deleted?)")
    return ChainCheck(True, count, None, f"audit chain intact ({count} events)")
