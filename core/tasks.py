import socket

from celery import shared_task

from . import services


@shared_task
def record_worker_heartbeat(worker: str | None = None) -> int:
    heartbeat = services.record_heartbeat(worker=worker or socket.gethostname())
    return heartbeat.pk
