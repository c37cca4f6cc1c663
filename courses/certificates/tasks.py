import logging

from celery import shared_task
from django.db.models import Exists, OuterRef

from courses.certificates import services as certificates
from courses.certificates.selectors import awaiting_evaluation_filter
from courses.models import Certificate, Enrollment

logger = logging.getLogger(__name__)


@shared_task(
    name="courses.tasks.issue_certificate_task",
    bind=True,
    max_retries=5,
    default_retry_delay=30,
    acks_late=True,
)
def issue_certificate_task(self, enrollment_id: int) -> int | None:
    """Issue (once), render, then email. Safe to run twice, in parallel, or after a crash at any point."""
    outcome = certificates.issue_certificate(enrollment_id=enrollment_id)
    if outcome.certificate is None:
        return None
    certificates.render_certificate_pdf(certificate_id=outcome.certificate.pk)
    try:
        certificates.notify_certificate_ready(certificate_id=outcome.certificate.pk)
    except OSError as exc:  # mail server down: the certificate stands; retry only the email
        raise self.retry(exc=exc) from exc
    return outcome.certificate.pk


@shared_task(name="courses.tasks.render_certificate_task", acks_late=True)
def render_certificate_task(certificate_id: int) -> int:
    return certificates.render_certificate_pdf(certificate_id=certificate_id).pk


@shared_task(name="courses.tasks.issue_missing_certificates")
def issue_missing_certificates() -> int:
    """Safety net (beat): completed enrollments whose certificate was never issued (a broker outage at
    completion, a lost message) get it now. Also renders PDFs that are missing."""
    done = 0
    # Never re-issue after a revocation: only enrollments that have no certificate at all.
    waiting = (
        Enrollment.objects.filter(status=Enrollment.Status.COMPLETED, kind=Enrollment.Kind.REGULAR)
        .exclude(awaiting_evaluation_filter())
        .exclude(Exists(Certificate.objects.filter(enrollment=OuterRef("pk"))))
        .values_list("pk", flat=True)[:200]
    )
    for enrollment_id in waiting:
        outcome = certificates.issue_certificate(enrollment_id=enrollment_id)
        if outcome.certificate is not None:
            certificates.render_certificate_pdf(certificate_id=outcome.certificate.pk)
            _notify(outcome.certificate.pk)
            done += 1
    for certificate_id in Certificate.objects.filter(pdf="", revoked_at__isnull=True).values_list(
        "pk", flat=True
    )[:200]:
        certificates.render_certificate_pdf(certificate_id=certificate_id)
        _notify(certificate_id)
    return done


def _notify(certificate_id: int) -> None:
    """The sweep also sends the "ready" email its task never sent; a mail server error waits for the
    next sweep instead of stopping this one."""
    try:
        certificates.notify_certificate_ready(certificate_id=certificate_id)
    except OSError:
        logger.exception("could not email certificate %s", certificate_id)
