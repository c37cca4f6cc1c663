"""Links from the course layer to pages it does not own: the learner pages of the front end, by the
URL names the project gives in settings.LEARNER_PAGE_URLS (courses never names frontend itself), and
absolute URLs for emails and certificates (settings.PUBLIC_BASE_URL)."""

from django.conf import settings
from django.urls import reverse


def learner_page(name: str, *args) -> str:
    """The path of a learner page: "course" (slug), "certificates", "certificate_pdf" (certificate id)."""
    return reverse(settings.LEARNER_PAGE_URLS[name], args=args)


def absolute(path: str) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{path}"
