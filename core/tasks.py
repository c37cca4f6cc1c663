import socket

from celery import shared_task

from . import services


@shared_task
def record_worker_heartbeat(worker: str | None = None) -> int:
    heartbeat = services.record_heartbeat(worker=worker or socket.gethostname())
    return heartbeat.pk


@shared_task
def publish_audit_checkpoint() -> int | None:
    """Publish the audit chain's head outside the database (core.audit.publish_checkpoint)."""
    from .audit import publish_checkpoint

    entry = publish_checkpoint()
    return entry["last_id"] if entry else None
