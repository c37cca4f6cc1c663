"""Evidence pack reads."""

from courses.models import EvidencePack

RECENT_PACKS = 20


def packs_requested_by(user) -> list[EvidencePack]:
    """The requester's most recent packs, newest first. 1 query."""
    return list(
        EvidencePack.objects.filter(requested_by=user)
        .select_related("department")
        .order_by("-created_at")[:RECENT_PACKS]
    )


def own_pack(user, *, pack_id: int) -> EvidencePack | None:
    """One of the requester's own packs (anyone else's is "no such pack"). 1 query."""
    return EvidencePack.objects.filter(pk=pack_id, requested_by=user).select_related("department").first()
