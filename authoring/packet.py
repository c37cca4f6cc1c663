"""The review packet: a PDF of a draft (or of what it published) for programs that keep signed paper:
every lesson, every question with its key, explanation and source, the diff against the previous
version and a signature block. WeasyPrint with the certificates' locked URL fetcher (no network)."""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from courses.certificates import STATIC_ROOT_FOR_PDF, _locked_fetcher_class
from elearn.markdown import render_markdown

from .diff import diff_documents
from .models import Draft


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
