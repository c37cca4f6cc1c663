"""Certificate services: evaluation, issue (once), PDF rendering, notification, revocation, reissue,
and the public verification lookup.

Issue is idempotent under retries, duplicate events and a worker killed mid-task: the enrollment row
is locked, an existing valid certificate is returned as it is, and the number is taken from a per-year
sequence row in the same transaction, so a rolled-back attempt never burns or duplicates a number.
"""

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core import audit
from core.queue import enqueue_after_commit
from courses import links
from courses.certificates.selectors import awaits_evaluation
from courses.errors import CourseError
from courses.models import Certificate, CertificateSequence, CourseEvaluation, Enrollment
from xapi import outbox as xapi_outbox

logger = logging.getLogger(__name__)

STATIC_ROOT_FOR_PDF = Path(settings.CERTIFICATE_ASSETS_DIR).resolve()
PAPER_SIZES = {"a4": "A4 landscape", "letter": "letter landscape"}


class CertificateError(CourseError):
    http_status = 409
    code = "certificate_error"


class NotCompleted(CertificateError):
    code = "not_completed"


@transaction.atomic
def submit_evaluation(
    *, user, enrollment_id: int, ratings: dict, comments: str = "", now: datetime | None = None
):
    enrollment = (
        Enrollment.objects.select_for_update()
        .select_related("course")
        .filter(pk=enrollment_id, user=user)
        .first()
    )
    if enrollment is None:
        raise CertificateError("No such enrollment.")
    if enrollment.status != Enrollment.Status.COMPLETED:
        raise NotCompleted("Finish the course before the evaluation.")
    errors = {}
    clean = {}
    for key in CourseEvaluation.RATING_QUESTIONS:
        value = ratings.get(key)
        try:
            value = int(value)
        except (TypeError, ValueError):
            value = None
        if value is None or not 1 <= value <= 5:
            errors[key] = "Choose a rating from 1 to 5."
        clean[key] = value
    if errors:
        raise CertificateError("Please answer every rating question.", field_errors=errors)
    evaluation, created = CourseEvaluation.objects.get_or_create(
        enrollment=enrollment,
        defaults={
            "ratings": clean,
            "comments": (comments or "").strip()[:4000],
            "submitted_at": now or timezone.now(),
        },
    )
    if created:
        enqueue_issue(enrollment_id=enrollment.pk)
    return evaluation


def enqueue_issue(*, enrollment_id: int) -> None:
    """Issue after commit through Celery. A broker failure is logged, not raised: the periodic
    `issue_missing_certificates` sweep issues whatever was missed."""
    enqueue_after_commit("courses.tasks.issue_certificate_task", enrollment_id)


def _next_number(year: int) -> str:
    sequence, _ = CertificateSequence.objects.get_or_create(year=year)
    sequence = CertificateSequence.objects.select_for_update().get(pk=year)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    prefix = getattr(settings, "CERTIFICATE_NUMBER_PREFIX", "SUS")
    return f"{prefix}-{year}-{sequence.last_number:06d}"


def _expiry(completed_on: date, months: int | None) -> date | None:
    return completed_on + relativedelta(months=months) if months else None


@dataclass(frozen=True)
class IssueOutcome:
    certificate: Certificate | None
    created: bool
    reason: str = ""


@transaction.atomic
def issue_certificate(
    *, enrollment_id: int, now: datetime | None = None, replaces: Certificate | None = None, actor=None
) -> IssueOutcome:
    now = now or timezone.now()
    enrollment = (
        Enrollment.objects.select_for_update(of=("self",))
        .select_related("course", "version", "user")
        .filter(pk=enrollment_id)
        .first()
    )
    if enrollment is None:
        return IssueOutcome(None, False, "no such enrollment")
    existing = Certificate.objects.filter(enrollment=enrollment, revoked_at__isnull=True).first()
    if existing is not None:
        return IssueOutcome(existing, False, "already issued")
    if replaces is None and Certificate.objects.filter(enrollment=enrollment).exists():
        # Revoked: a late duplicate of the issue event must not bring it back; only a reissue does.
        return IssueOutcome(None, False, "revoked")
    if enrollment.status != Enrollment.Status.COMPLETED:
        return IssueOutcome(None, False, "enrollment not completed")
    if enrollment.kind == Enrollment.Kind.UPDATE:
        return IssueOutcome(None, False, "a clinical update keeps the existing certificate")
    if awaits_evaluation(enrollment):
        return IssueOutcome(None, False, "evaluation not submitted")
    course, user = enrollment.course, enrollment.user
    completed_on = timezone.localdate(enrollment.completed_at)
    previous = (
        Certificate.objects.filter(
            user=user,
            enrollment__course=course,
            enrollment__cycle__lt=enrollment.cycle,
            revoked_at__isnull=True,
        )
        .order_by("-enrollment__cycle", "-issued_at")
        .first()
    )
    certificate = Certificate.objects.create(
        number=_next_number(timezone.localdate(now).year),
        verify_code=secrets.token_urlsafe(18),
        user=user,
        enrollment=enrollment,
        version=enrollment.version,
        learner_name=user.get_full_name() or user.username,
        licence_number=user.licence_number,
        course_title=course.title,
        ce_hours=course.ce_hours,
        provider_approval_number=course.provider_approval_number,
        accrediting_statement=course.accrediting_statement,
        completed_on=completed_on,
        issued_at=now,
        expires_on=_expiry(completed_on, course.validity_months),
        renews=previous,
        replaces=replaces,
    )
    # A code looked up before it existed was cached as unknown. Forgotten now, not on commit: nobody
    # outside this transaction knows the new code before the certificate reaches its learner.
    forget_verification(certificate.verify_code, on_commit=False)
    xapi_outbox.certificate_earned(certificate=certificate)
    audit.record(
        action="certificate.issued",
        target=certificate,
        actor=actor,
        subject_user_id=user.pk,
        data={
            "number": certificate.number,
            "enrollment": enrollment.pk,
            "renews": previous.number if previous else None,
            "replaces": replaces.number if replaces else None,
        },
        now=now,
    )
    return IssueOutcome(certificate, True)


# --- PDF ------------------------------------------------------------------------------------------


class BlockedURL(ValueError):
    pass


def _locked_fetcher_class():
    from weasyprint.urls import URLFetcher

    class LockedURLFetcher(URLFetcher):
        """WeasyPrint may read only the project's own certificate static files: no network, no other file."""

        def __init__(self):
            super().__init__(timeout=2, allowed_protocols={"file", "data"}, allow_redirects=False)

        def fetch(self, url, headers=None):
            return super().fetch(check_fetch_url(url), headers)

    return LockedURLFetcher


def check_fetch_url(url: str) -> str:
    """The URL to fetch when it is allowed; BlockedURL otherwise. Pure, so it is tested on its own."""
    parts = urlsplit(url)
    if parts.scheme == "data":
        return url
    if parts.scheme == "file" and not parts.netloc:
        path = Path(unquote(parts.path)).resolve()
        if path.is_relative_to(STATIC_ROOT_FOR_PDF) and path.is_file():
            return path.as_uri()
    raise BlockedURL(f"certificate rendering may not fetch {url[:80]!r}")


def verify_url(certificate: Certificate) -> str:
    return links.absolute(reverse("verify_certificate", args=[certificate.verify_code]))


# Usable height of each paper in landscape (mm) inside the 10 mm page margins: the frame fills it.
FRAME_HEIGHT_MM = {"a4": 188, "letter": 193.5}


def reading_seconds(certificate: Certificate) -> int:
    """Lesson time the server recorded for the enrollment the certificate was issued for (the same
    figure as the transcript's, courses.enrollment.progress.recorded_lesson_seconds): the evidence behind the CE
    hours it states."""
    from django.db.models import Sum

    from courses.models import LessonProgress

    if certificate.enrollment_id is None:
        return 0
    total = LessonProgress.objects.filter(enrollment_id=certificate.enrollment_id).aggregate(
        s=Sum("seconds_recorded")
    )
    return int(total["s"] or 0)


def hours_minutes(seconds: int) -> str:
    """3 h 05 min; under an hour, 42 min."""
    hours, minutes = divmod(max(0, int(seconds)) // 60, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def render_pdf_bytes(certificate: Certificate, *, paper: str = "", revoked: bool = False) -> bytes:
    import segno
    from weasyprint import HTML

    paper = paper if paper in PAPER_SIZES else settings.CERTIFICATE_PAPER

    qr_svg = segno.make(verify_url(certificate), error="m").svg_inline(scale=3, border=1, dark="#111827")
    html = render_to_string(
        "certificates/certificate.html",
        {
            "c": certificate,
            "qr_svg": qr_svg,
            "verify_url": verify_url(certificate),
            "page_size": PAPER_SIZES[paper],
            "frame_height": FRAME_HEIGHT_MM[paper],
            "revoked": revoked,
            "draft": certificate.version_id is not None and not certificate.version.is_reviewed,
            "reading_time": hours_minutes(reading_seconds(certificate)),
            "organisation": settings.ORGANISATION_NAME,
            "fonts": STATIC_ROOT_FOR_PDF / "fonts",
            "signatory": settings.CERTIFICATE_SIGNATORY,
            "signatory_name": settings.CERTIFICATE_SIGNATORY_NAME,
        },
    )
    return HTML(
        string=html, base_url=STATIC_ROOT_FOR_PDF.as_uri() + "/", url_fetcher=_locked_fetcher_class()()
    ).write_pdf()


def render_certificate_pdf(*, certificate_id: int) -> Certificate:
    """Render and store the PDF once (idempotent). Rendering runs outside any transaction; only the
    final field update is written."""
    certificate = Certificate.objects.get(pk=certificate_id)
    if certificate.pdf:
        return certificate
    data = render_pdf_bytes(certificate, paper=settings.CERTIFICATE_PAPER)
    with transaction.atomic():
        locked = Certificate.objects.select_for_update().get(pk=certificate_id)
        if locked.pdf:
            return locked
        locked.pdf.save(f"{locked.number}.pdf", ContentFile(data), save=False)
        locked.save(update_fields=["pdf"])
    return locked


def notify_certificate_ready(*, certificate_id: int) -> bool:
    """Email the learner once. The certificate row is locked while the email is sent and marked, so
    copies of the task running at once (duplicate events, a redelivery) send one email. The one
    duplicate window: a crash after the mail server accepted the message and before the mark commits;
    a retry then sends a second email."""
    with transaction.atomic():
        certificate = (
            Certificate.objects.select_for_update(of=("self",)).select_related("user").get(pk=certificate_id)
        )
        if certificate.notified_at is not None or certificate.revoked_at is not None:
            return False
        if not certificate.user.email:
            return False
        link = links.absolute(links.learner_page("certificates"))
        send_mail(
            subject=f"Your certificate for {certificate.course_title} is ready",
            message=render_to_string(
                "certificates/ready_email.txt",
                {"c": certificate, "link": link, "verify_url": verify_url(certificate)},
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[certificate.user.email],
        )
        certificate.notified_at = timezone.now()
        certificate.save(update_fields=["notified_at"])
    return True


# --- revocation -----------------------------------------------------------------------------------


@transaction.atomic
def revoke_certificate(*, certificate_id: int, by, reason: str, now: datetime | None = None) -> Certificate:
    reason = (reason or "").strip()
    if not reason:
        raise CertificateError("A reason is required to revoke a certificate.")
    certificate = Certificate.objects.select_for_update().get(pk=certificate_id)
    if certificate.revoked_at is not None:
        return certificate
    certificate.revoked_at = now or timezone.now()
    certificate.revoked_reason = reason
    certificate.revoked_by = by
    certificate.save(update_fields=["revoked_at", "revoked_reason", "revoked_by"])
    forget_verification(certificate.verify_code)
    xapi_outbox.certificate_revoked(certificate=certificate, by=by)
    audit.record(
        action="certificate.revoked",
        target=certificate,
        actor=by,
        subject_user_id=certificate.user_id,
        data={"number": certificate.number, "reason": reason},
        now=certificate.revoked_at,
    )
    return certificate


@transaction.atomic
def reissue_certificate(*, certificate_id: int, by, reason: str, now: datetime | None = None) -> Certificate:
    """Revoke and issue a replacement for the same completion (e.g. a corrected name or licence)."""
    old = revoke_certificate(certificate_id=certificate_id, by=by, reason=reason, now=now)
    outcome = issue_certificate(enrollment_id=old.enrollment_id, now=now, replaces=old, actor=by)
    if outcome.certificate is None:
        raise CertificateError(f"Could not reissue: {outcome.reason}.")
    certificate_id = outcome.certificate.pk
    enqueue_after_commit("courses.tasks.render_certificate_task", certificate_id)
    return outcome.certificate


# --- public verification --------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    status: str  # valid | expired | revoked | unknown
    certificate: Certificate | None
    chain: list[Certificate]


# The public verification answer is cached briefly per code and day (the status depends on the date);
# issuing and revoking forget it on commit, so the cache never outlives a change by more than a failed
# delete (then at most VERIFY_CACHE_SECONDS).
VERIFY_CACHE_SECONDS = 60


def verification_cache_key(code: str, today: date | None = None) -> str:
    digest = hashlib.sha256((code or "")[:64].encode()).hexdigest()[:32]
    return f"verify:{(today or timezone.localdate()).isoformat()}:{digest}"


def forget_verification(code: str, *, on_commit: bool = True) -> None:
    from core.ratelimit import forget

    if on_commit:
        transaction.on_commit(lambda: forget(verification_cache_key(code)))
    else:
        forget(verification_cache_key(code))


# secrets.token_urlsafe alphabet; anything else cannot be one of our codes.
VERIFY_CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def verify(*, code: str, today: date | None = None) -> Verification:
    """One indexed lookup whatever the code, so unknown codes answer in the same shape and time."""
    today = today or timezone.localdate()
    code = (code or "")[:64]
    if not VERIFY_CODE_PATTERN.fullmatch(code):  # not a code we issue (NUL bytes, slashes): no query
        return Verification("unknown", None, [])
    certificate = (
        Certificate.objects.select_related("renews", "renews__renews").filter(verify_code=code).first()
    )
    if certificate is None:
        return Verification("unknown", None, [])
    chain = []
    previous = certificate.renews
    while previous is not None and len(chain) < 2:
        chain.append(previous)
        previous = previous.renews if len(chain) < 2 else None
    return Verification(certificate.status_on(today), certificate, chain)


def course_completed(*, enrollment: Enrollment) -> None:
    """Called by the progress service when a regular enrollment completes, inside its transaction: a
    course without CE hours issues after commit; a CE course waits for the evaluation, whose
    submission enqueues the issue."""
    from lti import scores as lti_scores  # "completed" for LMS links to this course (after commit)

    lti_scores.course_completed(enrollment)
    if awaits_evaluation(enrollment):
        return
    enqueue_issue(enrollment_id=enrollment.pk)
