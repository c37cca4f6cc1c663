from celery import shared_task


@shared_task(acks_late=True)
def build_review_packet(packet_id: int) -> int:
    from . import packet

    return packet.build_packet(packet_id=packet_id).pk
