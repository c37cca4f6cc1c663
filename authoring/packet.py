"""The review packet: a PDF of a draft (or of what it published) for programs that keep signed paper:
every lesson, every question with its key, explanation and source, the diff against the previous
version and a signature block. WeasyPrint with the certificates' locked URL fetcher (no network)."""

import logging

from django.conf import settings
from django.core.files.base import ContentFile
from django.template.loader import render_to_string
from django.utils import timezone

from courses.certificates.services import STATIC_ROOT_FOR_PDF, _locked_fetcher_class
from quizzes.markdown import render_markdown

from .diff import diff_documents
from .models import Draft, ReviewPacket

logger = logging.getLogger(__name__)


def packet_context(draft: Draft) -> dict:
    from .services import comparable_base, draft_document

    document = draft.published_document or draft_document(draft)
    modules = [
        {
            **m,
            "lessons": [
                {**lesson, "html": render_markdown(lesson.get("body", ""))} for lesson in m["lessons"]
            ],
        }
        for m in document["modules"]
    ]
    banks = [
        {**b, "questions": [{**q, "stem_html": render_markdown(q.get("stem", ""))} for q in b["questions"]]}
        for b in document["banks"]
    ]
    return {
        "draft": draft,
        "course": document["course"],
        "modules": modules,
        "banks": banks,
        "final_exam": document.get("final_exam"),
        "diff": diff_documents(comparable_base(draft), document),
        "base_number": draft.base_version.number if draft.base_version_id else None,
        "organisation": settings.ORGANISATION_NAME,
        "generated": timezone.localtime(),
    }


def render_packet(draft: Draft) -> bytes:
    from weasyprint import HTML

    html = render_to_string("authoring/packet.html", packet_context(draft))
    return HTML(
        string=html, base_url=STATIC_ROOT_FOR_PDF.as_uri() + "/", url_fetcher=_locked_fetcher_class()()
    ).write_pdf()


def build_packet(*, packet_id: int) -> ReviewPacket:
    """Render and store one packet (idempotent: a done packet is left as it is). Rendering runs outside
    any transaction; only status updates are written."""
    packet = ReviewPacket.objects.select_related(
        "draft", "draft__base_version", "draft__published_version"
    ).get(pk=packet_id)
    if packet.status == ReviewPacket.Status.DONE:
        return packet
    ReviewPacket.objects.filter(pk=packet.pk).update(status=ReviewPacket.Status.RUNNING)
    try:
        data = render_packet(packet.draft)
    except Exception as exc:
        logger.exception("review packet %s failed", packet.pk)
        ReviewPacket.objects.filter(pk=packet.pk).update(
            status=ReviewPacket.Status.FAILED, error=str(exc)[:500], finished_at=timezone.now()
        )
        raise
    packet.file.save(
        f"review-packet-{packet.draft.slug}-{packet.draft_id}.pdf", ContentFile(data), save=False
    )
    packet.status, packet.finished_at = ReviewPacket.Status.DONE, timezone.now()
    packet.save(update_fields=["file", "status", "finished_at"])
    return packet
