"""Certificate races on PostgreSQL: 8 threads released together by a barrier, each on its own connection.

Every test names, in its docstring, the lock it depends on and what was observed when that
`select_for_update` was removed from courses/certificates/services.py (the database constraints stay in place).
Tasks run eagerly (test settings), so "the task" below is issue_certificate_task's real body.
"""

import contextlib
import threading

import pytest
from django.core import mail
from django.utils import timezone

from core.models import AuditEvent
from courses.certificates import services as certificates
from courses.certificates.tasks import issue_certificate_task
from courses.models import Certificate, CertificateSequence
from tests.certificate_helpers import completed_enrollment, make_course
from tests.concurrency import run_together as _run_together
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8


def run_together(*jobs):
    return _run_together(*jobs, join_timeout=120)


def meet_before(monkeypatch, owner, name: str, *, parties: int = THREADS, timeout: float = 1.0):
    """Make every thread that calls `owner.name` wait there until all `parties` have arrived (or
    `timeout` passed), then call it. Under a lock only one thread at a time gets that far, so the first
    waits `timeout` once and the rest pass at once; without the lock all of them arrive and are released
    together, so the race window is hit every time rather than by chance."""
    barrier = threading.Barrier(parties)
    real = getattr(owner, name)

    def waiting(*args, **kwargs):
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=timeout)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, waiting)
    return barrier


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def this_year() -> int:
    return timezone.localdate().year


def last_number() -> int:
    row = CertificateSequence.objects.filter(year=this_year()).first()
    return row.last_number if row else 0


def test_parallel_issue_for_one_enrollment_makes_one_certificate_and_one_number(monkeypatch):
    """Lock: `issue_certificate` locks the enrollment row before looking for its certificate.

    Without it, observed: every thread found no certificate and took a number; the partial unique
    index `certificate_one_valid_per_enrollment` let one insert through and the other 7 threads failed
    with IntegrityError ("duplicate key value violates unique constraint
    certificate_one_valid_per_enrollment"), i.e. duplicate completion events become task failures.
    Before `meet_before` was added this happened in 13 of 15 runs; with it, in every run (5 of 5).
    (The sequence lock alone does not prevent this: it only orders the threads.)"""
    enrollment = completed_enrollment(UserFactory(), make_course())
    before = last_number()
    # between "is there a certificate?" and the insert
    meet_before(monkeypatch, certificates, "awaits_evaluation")
    results, errors = run_together(
        *[lambda: certificates.issue_certificate(enrollment_id=enrollment.pk)] * THREADS
    )
    assert [repr(e) for e in errors if e is not None] == []
    assert len({outcome.certificate.pk for outcome in results}) == 1
    assert sorted(outcome.created for outcome in results) == [False] * (THREADS - 1) + [True]
    assert Certificate.objects.filter(enrollment=enrollment).count() == 1
    assert last_number() == before + 1
    assert AuditEvent.objects.filter(action="certificate.issued").count() == 1


def test_parallel_issue_for_eight_enrollments_takes_eight_consecutive_numbers(monkeypatch):
    """Lock: `_next_number` locks the year's sequence row before incrementing it.

    Without it, observed: threads read the same `last_number` and wrote the same value back, so they
    computed the same number; the unique index on `number` refused the duplicates and 5 to 7 of the 8
    threads (6 runs) failed with IntegrityError ("duplicate key value violates unique constraint
    courses_certificate_number_key ... (SUS-YYYY-000002) already exists")."""
    course = make_course()
    enrollments = [completed_enrollment(user, course) for user in UserFactory.create_batch(THREADS)]
    # between reading the sequence row (created by the first thread) and writing it back
    meet_before(monkeypatch, CertificateSequence, "save")
    results, errors = run_together(
        *[lambda e=e: certificates.issue_certificate(enrollment_id=e.pk) for e in enrollments]
    )
    assert [repr(e) for e in errors if e is not None] == []
    prefix = f"SUS-{this_year()}-"
    numbers = sorted(outcome.certificate.number for outcome in results)
    assert numbers == [f"{prefix}{n:06d}" for n in range(1, THREADS + 1)]
    assert last_number() == THREADS
    assert Certificate.objects.count() == THREADS


def test_task_retried_in_parallel_after_a_crash_renders_and_emails_once(monkeypatch, settings):
    """The first run dies while rendering (after the certificate was committed); then the broker
    redelivers it (acks_late) while duplicate events run the same task: 8 copies at once.

    Locks: `render_certificate_pdf`'s certificate lock (one stored file) and
    `notify_certificate_ready`'s certificate lock (one email). (Every copy finds the committed
    certificate, so the enrollment lock is not what this test checks.)

    Without the render lock, observed: several copies stored their own file (SUS-YYYY-000001.pdf plus
    up to 7 SUS-YYYY-000001_<random>.pdf), the last one winning the field and the others orphaned in
    storage. Without the notification lock, observed: the learner got 7 or 8 "certificate ready"
    emails."""
    learner = UserFactory()
    enrollment = completed_enrollment(learner, make_course(slug="crash", title="Crash course"))
    real_render = certificates.render_pdf_bytes
    renders = []
    # Every copy passes the "no PDF yet" check before any of them stores one: the renders all end
    # together, so the store step is raced by all 8 every time (without this the overlap is chance).
    rendered_together = threading.Barrier(THREADS)

    def render_crashing_once(*args, **kwargs):
        renders.append(1)
        if len(renders) == 1:
            raise RuntimeError("worker killed mid-render")
        data = real_render(*args, **kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):
            rendered_together.wait(timeout=15)
        return data

    monkeypatch.setattr(certificates, "render_pdf_bytes", render_crashing_once)
    with pytest.raises(RuntimeError, match="mid-render"):
        issue_certificate_task.delay(enrollment.pk)
    certificate = Certificate.objects.get(enrollment=enrollment)
    assert not certificate.pdf and certificate.notified_at is None and mail.outbox == []

    results, errors = run_together(*[lambda: issue_certificate_task.delay(enrollment.pk).result] * THREADS)
    assert [repr(e) for e in errors if e is not None] == []
    assert set(results) == {certificate.pk}
    assert len(renders) == 1 + THREADS and not rendered_together.broken
    certificate.refresh_from_db()
    assert Certificate.objects.filter(enrollment=enrollment).count() == 1
    assert last_number() == 1
    assert certificate.pdf and certificate.notified_at is not None
    stored = sorted(p.name for p in (settings.MEDIA_ROOT / "certificates").rglob("*.pdf"))
    assert stored == [f"{certificate.number}.pdf"]
    assert (settings.MEDIA_ROOT / certificate.pdf.name).read_bytes().startswith(b"%PDF-")
    assert [m.to for m in mail.outbox] == [[learner.email]]


def test_parallel_notifications_send_one_email():
    """Lock: `notify_certificate_ready` locks the certificate row while it sends and marks it (added
    with this test: before, the check and the mark were separate statements).

    Without it, observed: 7 or 8 threads read `notified_at` as empty before the first one stored it,
    and the learner got that many copies of the email."""
    learner = UserFactory()
    certificate = certificates.issue_certificate(
        enrollment_id=completed_enrollment(learner, make_course()).pk
    ).certificate
    results, errors = run_together(
        *[lambda: certificates.notify_certificate_ready(certificate_id=certificate.pk)] * THREADS
    )
    assert [repr(e) for e in errors if e is not None] == []
    assert sorted(results) == [False] * (THREADS - 1) + [True]
    assert [m.to for m in mail.outbox] == [[learner.email]]
