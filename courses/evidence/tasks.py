"""Celery tasks of evidence packs (registered names stay `courses.tasks.*`)."""

from celery import shared_task


@shared_task(name="courses.tasks.build_evidence_pack", acks_late=True)
def build_evidence_pack(pack_id: int) -> int:
    from courses.evidence import services as evidence

    return evidence.build_pack(pack_id=pack_id).pk
