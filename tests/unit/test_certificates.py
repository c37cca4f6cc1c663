"""Certificates (issue 7): numbering, verification codes, the evaluation gate, issue once, the database
constraint, recertification chains, revocation and reissue, public verification (states, no private
data, rate limit), the PDF (text, locked url_fetcher, paper sizes, revoked mark), the learner's pages,
the notification email, the safety-net sweep and the audit chain.

Courses and completed enrollments are built straight in the database (tests/certificate_helpers.py)
except in the completion-hook test, which completes a tiny course through the services.
"""

import os
import re
import socket
import struct
import subprocess
import types
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from core import audit, ratelimit
from core.models import AuditEvent
from courses.certificates import selectors
from courses.certificates import services as certificates
from courses.certificates.services import BlockedURL, check_fetch_url
from courses.certificates.tasks import issue_certificate_task, issue_missing_certificates
from courses.enrollment import services
from courses.models import Certificate, CertificateSequence, CourseEvaluation, Enrollment
from tests.certificate_helpers import (
    completed_enrollment,
    evaluate,
    make_course,
    pdf_all_bytes,
    pdf_attachments,
    pdf_info,
    pdf_text,
    squeezed,
)
from tests.course_helpers import complete_course, load_tiny
from tests.factories import UserFactory
from tests.tools import require_program

pytestmark = pytest.mark.django_db

VERIFY_API = "/api/v1/certificates/verify/{}/"
STATIC = certificates.STATIC_ROOT_FOR_PDF
FONT = STATIC / "fonts" / "DejaVuSerif.ttf"
EVIL_NAME = "<img src=file:///etc/passwd>"


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    """Each test: an empty rate-limit cache, PDFs stored under tmp_path, the organisation in New York
    (the local-date cases below depend on it), a fixed public URL and number prefix."""
    settings.TIME_ZONE = "America/New_York"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PUBLIC_BASE_URL = "https://training.example.org"
    settings.CERTIFICATE_NUMBER_PREFIX = "SUS"
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def frozen_window(monkeypatch):
    """The rate limiter's clock fixed in one minute, so a test never straddles two windows."""
    monkeypatch.setattr(ratelimit, "time", types.SimpleNamespace(time=lambda: 1_900_000_000.0))


@pytest.fixture
def learner(db):
    return UserFactory(first_name="Ada", last_name="Lovelace", licence_number="RN-778812")


@pytest.fixture
def admin_user(db):
    return UserFactory(username="registrar", is_staff=True, is_superuser=True)


@pytest.fixture
def plain_course(db):
    return make_course(slug="naloxone", title="Naloxone basics", ce_hours="0")


@pytest.fixture
def ce_course(db):
    return make_course(
        slug="ce-course",
        title="Safer prescribing",
        ce_hours="2.50",
        validity_months=12,
        approval="PA-2030-0042",
        statement="Approved by the State Board of Nursing for 2.5 contact hours.",
    )


def issue(enrollment, **kwargs) -> Certificate:
    outcome = certificates.issue_certificate(enrollment_id=enrollment.pk, **kwargs)
    assert outcome.certificate is not None, outcome.reason
    return outcome.certificate


def issued_for(user, course, **kwargs) -> Certificate:
    return issue(completed_enrollment(user, course), **kwargs)


# --- number and verification code -----------------------------------------------------------------


def test_numbers_are_sequential_per_local_year(plain_course):
    users = UserFactory.create_batch(5)
    at = [
        datetime(2030, 6, 1, 12, tzinfo=UTC),
        datetime(2030, 6, 1, 13, tzinfo=UTC),
        datetime(2031, 1, 1, 3, tzinfo=UTC),  # still 31 December 2030 in New York
        datetime(2031, 1, 1, 6, tzinfo=UTC),  # 1 January 2031 in New York
        datetime(2031, 1, 2, 6, tzinfo=UTC),
    ]
    numbers = [issued_for(u, plain_course, now=now).number for u, now in zip(users, at, strict=True)]
    assert numbers == [
        "SUS-2030-000001",
        "SUS-2030-000002",
        "SUS-2030-000003",
        "SUS-2031-000001",
        "SUS-2031-000002",
    ]
    assert dict(CertificateSequence.objects.values_list("year", "last_number")) == {2030: 3, 2031: 2}
    assert all(re.fullmatch(r"SUS-\d{4}-\d{6}", n) for n in numbers)


def test_verify_codes_are_random_tokens_not_ids(plain_course, monkeypatch):
    drawn = []
    real = certificates.secrets.token_urlsafe

    def spy(nbytes=None):
        drawn.append(nbytes)
        return real(nbytes)

    monkeypatch.setattr(certificates.secrets, "token_urlsafe", spy)
    issued = [issued_for(u, plain_course) for u in UserFactory.create_batch(6)]
    codes = [c.verify_code for c in issued]
    assert len(drawn) == 6 and all(n is not None and n >= 18 for n in drawn)
    assert len(set(codes)) == 6
    for certificate in issued:
        code = certificate.verify_code
        assert len(code) >= 24 and re.fullmatch(r"[A-Za-z0-9_-]+", code)
        assert code not in (str(certificate.pk), certificate.number)


# --- evaluation gate and issue on completion ------------------------------------------------------


def test_ce_course_needs_the_evaluation_before_its_certificate(
    learner, ce_course, django_capture_on_commit_callbacks
):
    enrollment = completed_enrollment(learner, ce_course)
    outcome = certificates.issue_certificate(enrollment_id=enrollment.pk)
    assert outcome.certificate is None and outcome.reason == "evaluation not submitted"
    assert selectors.enrollments_awaiting_evaluation(user=learner) == [enrollment]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        evaluation = certificates.submit_evaluation(
            user=learner,
            enrollment_id=enrollment.pk,
            ratings={"relevance": "5", "clarity": 4, "confidence": "3"},
            comments="  Useful.  ",
        )
    assert evaluation.ratings == {"relevance": 5, "clarity": 4, "confidence": 3}
    assert evaluation.comments == "Useful."
    assert len(callbacks) == 1
    certificate = Certificate.objects.get(enrollment=enrollment)
    assert certificate.ce_hours == Decimal("2.50") and certificate.pdf
    assert certificate.provider_approval_number == "PA-2030-0042"
    assert certificate.licence_number == "RN-778812"
    assert certificate.expires_on == date(2031, 3, 1)
    assert selectors.enrollments_awaiting_evaluation(user=learner) == []
    # a second submission changes nothing and enqueues nothing
    with django_capture_on_commit_callbacks(execute=True) as again:
        certificates.submit_evaluation(
            user=learner, enrollment_id=enrollment.pk, ratings={"relevance": 1, "clarity": 1, "confidence": 1}
        )
    assert again == [] and CourseEvaluation.objects.get().ratings["relevance"] == 5


@pytest.mark.parametrize(
    "ratings",
    [
        {"relevance": 6, "clarity": 4, "confidence": 4},
        {"relevance": 0, "clarity": "x", "confidence": None},
        {"relevance": 4, "clarity": 4},
        {},
    ],
    ids=["out-of-range", "garbage", "missing-one", "empty"],
)
def test_evaluation_with_bad_ratings_writes_nothing(
    learner, ce_course, ratings, django_capture_on_commit_callbacks
):
    enrollment = completed_enrollment(learner, ce_course)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(certificates.CertificateError) as raised,
    ):
        certificates.submit_evaluation(user=learner, enrollment_id=enrollment.pk, ratings=ratings)
    bad = {k for k in ("relevance", "clarity", "confidence") if ratings.get(k) not in (1, 2, 3, 4, 5)}
    assert set(raised.value.field_errors) == bad
    assert callbacks == []
    assert not CourseEvaluation.objects.exists() and not Certificate.objects.exists()


def test_evaluation_only_for_the_learners_own_completed_enrollment(learner, ce_course):
    other = completed_enrollment(UserFactory(), ce_course)
    good = {"relevance": 5, "clarity": 5, "confidence": 5}
    with pytest.raises(certificates.CertificateError):
        certificates.submit_evaluation(user=learner, enrollment_id=other.pk, ratings=good)
    unfinished = completed_enrollment(learner, ce_course)
    Enrollment.objects.filter(pk=unfinished.pk).update(
        status=Enrollment.Status.IN_PROGRESS, completed_at=None
    )
    with pytest.raises(certificates.NotCompleted):
        certificates.submit_evaluation(user=learner, enrollment_id=unfinished.pk, ratings=good)
    assert not CourseEvaluation.objects.exists()


def test_completing_a_course_issues_through_the_hook(tmp_path, django_capture_on_commit_callbacks):
    """The real completion path: no CE hours -> issued after commit; CE hours -> waits for the evaluation."""
    plain = load_tiny(tmp_path / "plain", slug="plain-course")
    plain.course.ce_hours = 0
    plain.course.save(update_fields=["ce_hours"])
    ce = load_tiny(tmp_path / "ce", slug="ce-tiny")  # 1.5 CE hours
    learner = UserFactory()
    for tiny in (plain, ce):
        services.enroll(user=learner, course=tiny.course)
        with django_capture_on_commit_callbacks(execute=True):
            complete_course(learner, tiny.version, tiny.specs)
    done = {e.course_id: e for e in Enrollment.objects.filter(user=learner)}
    assert {e.status for e in done.values()} == {Enrollment.Status.COMPLETED}
    certificate = Certificate.objects.get(user=learner)
    assert certificate.enrollment == done[plain.course.pk]
    assert certificate.pdf and certificate.notified_at is not None
    assert len(mail.outbox) == 1 and certificate.number in mail.outbox[0].body
    assert selectors.enrollments_awaiting_evaluation(user=learner) == [done[ce.course.pk]]


# --- issue once ------------------------------------------------------------------------------------


def test_issuing_twice_returns_the_same_certificate(learner, plain_course):
    enrollment = completed_enrollment(learner, plain_course)
    first = certificates.issue_certificate(enrollment_id=enrollment.pk)
    second = certificates.issue_certificate(enrollment_id=enrollment.pk)
    assert (first.created, second.created) == (True, False)
    assert first.certificate.pk == second.certificate.pk and second.reason == "already issued"
    issue_certificate_task.delay(enrollment.pk)
    issue_certificate_task.delay(enrollment.pk)
    assert Certificate.objects.count() == 1
    assert CertificateSequence.objects.get().last_number == 1
    assert AuditEvent.objects.filter(action="certificate.issued").count() == 1
    assert len(mail.outbox) == 1


def test_a_crash_inside_the_issue_transaction_burns_no_number(learner, plain_course, monkeypatch):
    """The certificate, its number and its audit record commit together or not at all."""
    enrollment = completed_enrollment(learner, plain_course)
    real_record = certificates.audit.record
    calls = []

    def record_failing_once(**kwargs):
        calls.append(kwargs["action"])
        if len(calls) == 1:
            raise RuntimeError("worker killed after the insert")
        return real_record(**kwargs)

    monkeypatch.setattr(certificates.audit, "record", record_failing_once)
    with pytest.raises(RuntimeError):
        issue_certificate_task.delay(enrollment.pk)
    assert not Certificate.objects.exists()
    assert not CertificateSequence.objects.filter(last_number__gt=0).exists()
    issue_certificate_task.delay(enrollment.pk)  # the retry
    certificate = Certificate.objects.get()
    assert certificate.number.endswith("-000001") and certificate.pdf
    assert AuditEvent.objects.filter(action="certificate.issued").count() == 1


def test_no_certificate_for_an_unfinished_or_missing_enrollment(learner, plain_course):
    enrollment = completed_enrollment(learner, plain_course)
    Enrollment.objects.filter(pk=enrollment.pk).update(
        status=Enrollment.Status.IN_PROGRESS, completed_at=None
    )
    assert certificates.issue_certificate(enrollment_id=enrollment.pk).reason == "enrollment not completed"
    assert certificates.issue_certificate(enrollment_id=999_999_999).reason == "no such enrollment"
    assert not Certificate.objects.exists()
    assert not CertificateSequence.objects.filter(last_number__gt=0).exists()


def test_database_allows_one_valid_certificate_per_enrollment(learner, plain_course):
    first = issued_for(learner, plain_course)
    fields = {
        f.name: getattr(first, f.name)
        for f in Certificate._meta.fields
        if f.name not in ("id", "number", "verify_code", "pdf")
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        Certificate.objects.create(**fields, number="SUS-2030-999999", verify_code="another-code")
    with pytest.raises(IntegrityError), transaction.atomic():  # revoked needs a reason
        Certificate.objects.filter(pk=first.pk).update(revoked_at=timezone.now())
    Certificate.objects.filter(pk=first.pk).update(revoked_at=timezone.now(), revoked_reason="Wrong name")
    second = Certificate.objects.create(**fields, number="SUS-2030-999999", verify_code="another-code")
    assert second.pk != first.pk and Certificate.objects.filter(enrollment=first.enrollment).count() == 2


def test_a_duplicate_issue_after_revocation_does_not_bring_a_certificate_back(
    learner, admin_user, plain_course
):
    """A late duplicate of the issue task (acks_late redelivery, a second completion event) must not
    replace a certificate an admin revoked: only an explicit reissue does."""
    enrollment = completed_enrollment(learner, plain_course)
    issue_certificate_task.delay(enrollment.pk)
    certificate = Certificate.objects.get()
    certificates.revoke_certificate(certificate_id=certificate.pk, by=admin_user, reason="Fraudulent record")
    assert issue_certificate_task.delay(enrollment.pk).get() is None
    assert certificates.issue_certificate(enrollment_id=enrollment.pk).certificate is None
    assert Certificate.objects.filter(enrollment=enrollment).count() == 1
    assert CertificateSequence.objects.get().last_number == 1


# --- recertification chain -------------------------------------------------------------------------


def test_a_renewal_links_to_the_previous_cycle_and_verify_shows_the_chain(learner, client):
    course = make_course(slug="annual", title="Annual refresher", ce_hours="0", validity_months=12)
    chain = []
    for cycle, year in ((1, 2030), (2, 2031), (3, 2032)):
        enrollment = completed_enrollment(
            learner, course, cycle=cycle, completed_at=datetime(year, 2, 10, 15, tzinfo=UTC)
        )
        chain.append(issue(enrollment, now=datetime(year, 2, 10, 16, tzinfo=UTC)))
    first, second, third = chain
    assert (first.renews, second.renews, third.renews) == (None, first, second)
    assert third.expires_on == date(2033, 2, 10)
    result = certificates.verify(code=third.verify_code, today=date(2032, 3, 1))
    assert result.status == "valid" and result.chain == [second, first]
    payload = client.get(VERIFY_API.format(third.verify_code)).json()
    assert payload["renews"] == [second.number, first.number]
    page = client.get(f"/verify/{third.verify_code}/").content.decode()
    assert f"{second.number} (completed 10 Feb 2031), which renews {first.number}" in page
    assert certificates.verify(code=first.verify_code, today=date(2030, 3, 1)).chain == []


def test_a_revoked_certificate_is_not_renewed(learner, admin_user):
    course = make_course(slug="annual", title="Annual refresher", validity_months=12)
    first = issue(completed_enrollment(learner, course, cycle=1))
    certificates.revoke_certificate(certificate_id=first.pk, by=admin_user, reason="Issued in error")
    later = completed_enrollment(learner, course, cycle=2, completed_at=datetime(2031, 2, 1, tzinfo=UTC))
    assert issue(later).renews is None


# --- revocation, reissue, verification states -------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_revocation_needs_a_reason(learner, admin_user, plain_course, reason):
    certificate = issued_for(learner, plain_course)
    with pytest.raises(certificates.CertificateError):
        certificates.revoke_certificate(certificate_id=certificate.pk, by=admin_user, reason=reason)
    certificate.refresh_from_db()
    assert certificate.revoked_at is None
    assert not AuditEvent.objects.filter(action="certificate.revoked").exists()


def test_revocation_is_audited_and_public_verification_never_shows_the_reason(
    learner, admin_user, plain_course, client
):
    certificate = issued_for(learner, plain_course)
    reason = "Badge-swap fraud found by HR-INVESTIGATION-4471"
    revoked_at = datetime(2030, 4, 1, 2, 30, tzinfo=UTC)  # still 31 March in New York
    certificates.revoke_certificate(
        certificate_id=certificate.pk, by=admin_user, reason=reason, now=revoked_at
    )
    certificates.revoke_certificate(certificate_id=certificate.pk, by=admin_user, reason="again")  # no-op
    certificate.refresh_from_db()
    assert (certificate.revoked_at, certificate.revoked_reason) == (revoked_at, reason)
    assert certificate.revoked_by == admin_user
    event = AuditEvent.objects.get(action="certificate.revoked")
    assert event.actor == admin_user and event.subject_user_id == learner.pk
    assert event.target_id == str(certificate.pk) and event.data["reason"] == reason

    response = client.get(VERIFY_API.format(certificate.verify_code))
    assert response.status_code == 200
    assert response.json()["status"] == "revoked"
    assert response.json()["revoked_on"] == "2030-03-31"  # the organisation's date, as on the page
    page = client.get(f"/verify/{certificate.verify_code}/")
    html = page.content.decode()
    assert "<strong>Revoked</strong> on 31 March 2030" in html
    for body in (response.content.decode(), html):
        assert "HR-INVESTIGATION-4471" not in body and "Badge-swap" not in body
        assert admin_user.username not in body and learner.email not in body


def test_reissue_revokes_and_issues_a_new_number_that_replaces_the_old(
    learner, admin_user, plain_course, django_capture_on_commit_callbacks
):
    old = issued_for(learner, plain_course)
    with django_capture_on_commit_callbacks(execute=True):
        new = certificates.reissue_certificate(
            certificate_id=old.pk, by=admin_user, reason="Legal name changed"
        )
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.revoked_at is not None and old.revoked_reason == "Legal name changed"
    assert new.replaces == old and new.number != old.number and new.verify_code != old.verify_code
    assert new.enrollment_id == old.enrollment_id and new.revoked_at is None
    assert new.pdf  # rendered after commit
    assert [e.action for e in AuditEvent.objects.order_by("pk")] == [
        "certificate.issued",
        "certificate.revoked",
        "certificate.issued",
    ]
    assert AuditEvent.objects.order_by("pk").last().data["replaces"] == old.number
    assert certificates.verify(code=old.verify_code).status == "revoked"
    assert certificates.verify(code=new.verify_code).status == "valid"


def test_reissue_without_a_reason_changes_nothing(learner, admin_user, plain_course):
    old = issued_for(learner, plain_course)
    with pytest.raises(certificates.CertificateError):
        certificates.reissue_certificate(certificate_id=old.pk, by=admin_user, reason=" ")
    assert Certificate.objects.get().revoked_at is None
    assert CertificateSequence.objects.get().last_number == 1


def test_expired_status_from_expires_on(learner, ce_course, client, clock):
    evaluate(enrollment := completed_enrollment(learner, ce_course))
    certificate = issue(enrollment)
    assert certificate.expires_on == date(2031, 3, 1)  # completed 1 March 2030, valid 12 months
    assert certificates.verify(code=certificate.verify_code, today=date(2031, 3, 1)).status == "valid"
    assert certificates.verify(code=certificate.verify_code, today=date(2031, 3, 2)).status == "expired"
    clock.now = datetime(2031, 3, 2, 15, tzinfo=UTC)
    payload = client.get(VERIFY_API.format(certificate.verify_code)).json()
    assert payload["status"] == "expired" and payload["expires_on"] == "2031-03-01"
    page = client.get(f"/verify/{certificate.verify_code}/").content.decode()
    assert "<strong>Expired</strong> on 1 March 2031" in page


def test_a_course_without_validity_never_expires(learner, plain_course):
    certificate = issued_for(learner, plain_course)
    assert certificate.expires_on is None
    assert certificates.verify(code=certificate.verify_code, today=date(2099, 1, 1)).status == "valid"


def test_unknown_code_answers_in_the_same_shape(learner, plain_course, client):
    certificate = issued_for(learner, plain_course)
    valid = client.get(VERIFY_API.format(certificate.verify_code))
    assert valid.json()["status"] == "valid" and valid.json()["number"] == certificate.number
    for code in ("not-a-real-code-0000000000", str(certificate.pk), certificate.number, "x" * 500):
        unknown = client.get(VERIFY_API.format(code))
        assert unknown.status_code == 200
        assert unknown.json().keys() == valid.json().keys()
        assert unknown.json() == {**dict.fromkeys(valid.json(), None), "status": "unknown", "renews": []}
    page = client.get("/verify/not-a-real-code-0000000000/")
    assert page.status_code == 200 and "Unknown code" in page.content.decode()
    assert client.get("/verify/?code=abc").url == "/verify/abc/"


def test_verification_answers_from_the_cache_until_an_issue_or_a_revocation_forgets_it(
    learner, admin_user, plain_course, client, monkeypatch, django_assert_num_queries,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    """The public answer is cached per code and day; the database is read on a miss only, and issuing
    or revoking forgets the code's answer when its transaction commits (not before: a rollback must
    not leave a wrong answer behind)."""
    monkeypatch.setattr(certificates.secrets, "token_urlsafe", lambda n: "code-looked-up-too-early")
    url = VERIFY_API.format("code-looked-up-too-early")
    assert client.get(url).json()["status"] == "unknown"  # cached as unknown
    with django_capture_on_commit_callbacks(execute=True):
        certificate = issued_for(learner, plain_course)
    assert certificate.verify_code == "code-looked-up-too-early"
    assert client.get(url).json()["status"] == "valid"
    with django_assert_num_queries(0):  # from the cache: no database at all
        assert client.get(url).json()["status"] == "valid"
    with django_capture_on_commit_callbacks(execute=False) as pending:
        certificates.revoke_certificate(certificate_id=certificate.pk, by=admin_user, reason="Wrong person")
    assert client.get(url).json()["status"] == "valid"  # not committed yet: the old answer stands
    for callback in pending:
        callback()
    assert client.get(url).json()["status"] == "revoked"


def test_verification_is_rate_limited_per_client(learner, plain_course, client, settings, frozen_window):
    settings.VERIFY_RATE_LIMIT_PER_MINUTE = 3
    code = issued_for(learner, plain_course).verify_code
    urls = [VERIFY_API.format(code), VERIFY_API.format("unknown-code"), f"/verify/{code}/"]
    assert [client.get(url).status_code for url in urls] == [200, 200, 200]
    limited = client.get(VERIFY_API.format(code))
    assert limited.status_code == 429 and limited["Retry-After"] == "60"
    assert limited.json()["code"] == "rate_limited" and "number" not in limited.json()
    page = client.get(f"/verify/{code}/")
    assert page.status_code == 429 and "Too many checks" in page.content.decode()
    other = client.get(VERIFY_API.format(code), REMOTE_ADDR="203.0.113.9")
    assert other.status_code == 200


# --- PDF ------------------------------------------------------------------------------------------


def test_pdf_shows_name_hours_number_and_is_stored(learner, ce_course, tmp_path, settings, monkeypatch):
    import segno

    qr_payloads = []
    real_make = segno.make

    def spy_make(content, *args, **kwargs):
        qr_payloads.append(content)
        return real_make(content, *args, **kwargs)

    monkeypatch.setattr(segno, "make", spy_make)
    evaluate(enrollment := completed_enrollment(learner, ce_course))
    certificate = issue(enrollment)
    stored = certificates.render_certificate_pdf(certificate_id=certificate.pk)
    assert stored.pdf.name.startswith("certificates/") and stored.pdf.name.endswith(".pdf")
    path = settings.MEDIA_ROOT / stored.pdf.name
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    text = pdf_text(data, tmp_path)
    for expected in (
        "Ada Lovelace",
        "Licence number RN-778812",
        "Safer prescribing",
        "Continuing-education hours 2.50",
        certificate.number,
        "1 March 2030",  # completed on
        "1 March 2031",  # valid until
        "PA-2030-0042",
        "Approved by the State Board of Nursing",
    ):
        assert expected in text, expected
    # the URL under the QR code wraps at its slashes in the narrow column
    assert f"https://training.example.org/verify/{certificate.verify_code}/" in squeezed(text)
    assert "REVOKED" not in squeezed(text) and "revoked" not in text
    assert qr_payloads == [f"https://training.example.org/verify/{certificate.verify_code}/"]
    assert b"<svg" not in data and len(data) > 10_000  # the QR code is drawn, not left as markup
    again = certificates.render_certificate_pdf(certificate_id=certificate.pk)  # idempotent
    assert again.pdf.name == stored.pdf.name and len(list(path.parent.iterdir())) == 1


def test_a_malicious_name_is_printed_and_nothing_is_read(plain_course, tmp_path):
    evil = UserFactory(first_name=EVIL_NAME, last_name="")
    certificate = issued_for(evil, plain_course)
    assert certificate.learner_name == EVIL_NAME
    data = certificates.render_pdf_bytes(certificate)
    assert EVIL_NAME in pdf_text(data, tmp_path)
    assert b"root:x:0:0" not in pdf_all_bytes(data)
    assert pdf_attachments(data, tmp_path).strip() == "0 embedded files"


ALLOWED = [
    "data:image/png;base64,iVBORw0KGgo=",
    "data:text/css,p{color:red}",
    FONT.as_uri(),
    (STATIC / "fonts" / ".." / "fonts" / "DejaVuSerif-Bold.ttf").as_uri(),
]
REFUSED = [
    "http://127.0.0.1:9/x.png",
    "https://example.org/logo.png",
    "ftp://example.org/x",
    "file:///etc/passwd",
    STATIC.as_uri() + "/../../../../etc/passwd",
    STATIC.as_uri() + "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "file://evil-host" + FONT.as_posix(),
    "file://localhost/etc/passwd",
    STATIC.as_uri() + "/fonts/missing.ttf",
    STATIC.as_uri(),  # the directory itself
    STATIC.parent.as_uri() + "/certificates-evil/x.png",  # a sibling with the same prefix
    (STATIC.parents[2] / "settings.py").as_uri(),
    "/etc/passwd",
    "",
]


@pytest.mark.parametrize("url", ALLOWED)
def test_fetch_url_allowed(url):
    assert check_fetch_url(url)


@pytest.mark.parametrize("url", REFUSED)
def test_fetch_url_refused(url):
    with pytest.raises(BlockedURL):
        check_fetch_url(url)


def test_fetch_url_refuses_a_symlink_out_of_the_static_files(tmp_path, monkeypatch):
    static = tmp_path / "certificates"
    static.mkdir()
    (static / "logo.png").write_bytes(b"png")
    (static / "passwd.png").symlink_to("/etc/passwd")
    monkeypatch.setattr(certificates, "STATIC_ROOT_FOR_PDF", static.resolve())
    assert check_fetch_url((static / "logo.png").as_uri()) == (static / "logo.png").resolve().as_uri()
    with pytest.raises(BlockedURL):
        check_fetch_url((static / "passwd.png").as_uri())


HOSTILE_HTML = f"""<html><head>
<link rel="stylesheet" href="http://127.0.0.1:9/style.css">
<link rel="attachment" href="file:///etc/passwd">
<style>@import url("https://example.org/x.css"); body {{ background: url("http://127.0.0.1:9/bg.png"); }}</style>
</head><body><p>Hello</p><img src="http://127.0.0.1:9/x.png"><img src="file:///etc/passwd">
<img src="fonts/../../../../../../etc/passwd"><img src="{FONT.as_uri()}"></body></html>"""


@pytest.fixture
def no_network(monkeypatch):
    """Every outgoing connection attempt is recorded (and refused); the test asserts there were none."""
    attempts = []

    def refuse(address, *args, **kwargs):
        attempts.append(address)
        raise OSError(f"network access from a test: {address}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


def test_rendering_fetches_no_network_url_and_no_foreign_file(no_network, tmp_path):
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    base = STATIC.as_uri() + "/"
    locked = HTML(string=HOSTILE_HTML, base_url=base, url_fetcher=certificates._locked_fetcher_class()())
    data = locked.write_pdf()
    assert no_network == []
    assert b"root:x:0:0" not in pdf_all_bytes(data)
    assert pdf_attachments(data, tmp_path).strip() == "0 embedded files"
    # The same document with WeasyPrint's default fetcher does both (so the checks above can fail).
    unlocked = HTML(string=HOSTILE_HTML, base_url=base, url_fetcher=URLFetcher(timeout=1)).write_pdf()
    assert no_network  # ("127.0.0.1", 9), or the proxy when one is configured
    assert b"root:x:0:0" in pdf_all_bytes(unlocked)


def test_a_real_certificate_renders_without_network(no_network, learner, ce_course, tmp_path):
    evaluate(enrollment := completed_enrollment(learner, ce_course))
    data = certificates.render_pdf_bytes(issue(enrollment))
    assert no_network == [] and "Ada Lovelace" in pdf_text(data, tmp_path)


def page_size(info: dict) -> tuple[float, float]:
    width, height = re.match(r"([\d.]+) x ([\d.]+) pts", info["Page size"]).groups()
    return float(width), float(height)


def test_a4_and_letter_pages(learner, plain_course, tmp_path):
    certificate = issued_for(learner, plain_course)
    a4 = pdf_info(certificates.render_pdf_bytes(certificate, paper="a4"), tmp_path)
    letter = pdf_info(certificates.render_pdf_bytes(certificate, paper="letter"), tmp_path)
    assert page_size(a4) == pytest.approx((841.89, 595.28), abs=0.01)  # A4 landscape (297 x 210 mm)
    assert page_size(letter) == pytest.approx((792, 612), abs=0.01)  # US Letter landscape (11 x 8.5 in)
    assert a4["Pages"] == letter["Pages"] == "1"


def test_a_rendered_sample_is_kept_as_an_artefact(tmp_path, monkeypatch):
    """test-artifacts/certificate-sample.pdf and its page as certificate-sample-1.png (pdftoppm, 80 dpi),
    from a realistic certificate: long course title, licence, approval, statement, renewal, expiry."""
    artefacts = Path(django_settings.BASE_DIR) / "test-artifacts"
    artefacts.mkdir(exist_ok=True)
    previous = Certificate(
        number="SUS-2029-000087", verify_code="previous-code", completed_on=date(2029, 3, 1)
    )
    sample = Certificate(
        number="SUS-2030-000123",
        verify_code="Xk3f9Qa7_bL2mN8pR4sT6vW1",
        learner_name="Mary-Catherine O'Donnell-Fitzgerald",
        licence_number="RN-778812",
        course_title="Substance use safety: overdose, naloxone and dangerous combinations",
        ce_hours=Decimal("2.50"),
        provider_approval_number="PA-2030-0042",
        accrediting_statement=(
            "This continuing-education activity has been approved by the State Board of Nursing for "
            "2.5 contact hours under provider approval number PA-2030-0042."
        ),
        completed_on=date(2030, 3, 1),
        issued_at=datetime(2030, 3, 1, 16, tzinfo=UTC),
        expires_on=date(2032, 3, 1),
        renews=previous,
    )
    data = certificates.render_pdf_bytes(sample, paper="a4")
    work = tmp_path / "sample"
    work.mkdir()
    (work / "certificate-sample.pdf").write_bytes(data)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "80",
            str(work / "certificate-sample.pdf"),
            str(work / "certificate-sample"),
        ],
        check=True,
        timeout=60,
    )
    png = (work / "certificate-sample-1.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (936, 662)  # A4 landscape at 80 dpi, one page
    assert pdf_info(data, tmp_path)["Pages"] == "1"
    text = pdf_text(data, tmp_path)
    assert "Mary-Catherine O'Donnell-Fitzgerald" in text and "Renews SUS-2029-000087" in text
    for name in ("certificate-sample.pdf", "certificate-sample-1.png"):
        os.replace(work / name, artefacts / name)
    assert (artefacts / "certificate-sample-1.png").stat().st_size > 10_000


def word_boxes(pdf: bytes, tmp_dir) -> list[tuple[str, float, float, float, float]]:
    """(word, x_min, y_min, x_max, y_max) in points from the top left, from pdftotext -bbox."""
    path = tmp_dir / "bbox.pdf"
    path.write_bytes(pdf)
    html = subprocess.run(
        ["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    pattern = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    return [(w, float(a), float(b), float(c), float(d)) for a, b, c, d, w in re.findall(pattern, html)]


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_a_long_statement_does_not_run_under_the_signature_or_the_qr_code(tmp_path, paper):
    certificate = Certificate(
        number="SUS-2030-000123",
        verify_code="Xk3f9Qa7_bL2mN8pR4sT6vW1",
        learner_name="Maximiliana Alexandrina Konstantinopoulou-Vanderbergh-Smythe",
        licence_number="RN-778812",
        course_title="Substance use safety in residential addiction treatment: overdose recognition, "
        "naloxone and dangerous drug combinations",
        ce_hours=Decimal("12.75"),
        provider_approval_number="PA-2030-0042",
        accrediting_statement="This continuing-education activity has been approved by the State Board of "
        "Nursing for 12.75 contact hours under provider approval number PA-2030-0042. It is also approved "
        "by the Board of Alcohol and Drug Counselors for 12.75 CE hours (approval 2030-ADC-7781) and by "
        "the Board of Social Work Examiners. Participants must attend the whole activity and complete "
        "the evaluation to receive ENDOFSTATEMENT",
        completed_on=date(2030, 3, 1),
        issued_at=datetime(2030, 3, 1, 16, tzinfo=UTC),
        expires_on=date(2031, 3, 1),
    )
    pdf = certificates.render_pdf_bytes(certificate, paper=paper)
    (tmp_path / "long.pdf").write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(tmp_path / "long.pdf")], capture_output=True, text=True, check=True)
    assert re.search(r"^Pages:\s+1$", info.stdout, re.M), "the certificate must stay on one page"
    text = subprocess.run(
        ["pdftotext", "-raw", str(tmp_path / "long.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout.replace("\n", "")
    assert certificate.verify_code in text, "the verification code under the QR must not be clipped"
    words = word_boxes(pdf, tmp_path)
    statement_bottom = next(w[4] for w in words if w[0] == "ENDOFSTATEMENT")
    signature_top = next(w[2] for w in words if w[0] == "Director")
    qr_top = next(w[2] for w in words if w[0] == "Verify") - 30 * 72 / 25.4  # the QR is 30 mm tall
    assert statement_bottom <= min(signature_top, qr_top)


@pytest.mark.parametrize("revoked", [False, True], ids=["valid", "revoked"])
def test_the_printed_qr_code_scans_to_the_verify_url(learner, plain_course, tmp_path, revoked):
    """Decoded from the page image at the sample's 80 dpi, with the REVOKED mark over the page too."""
    zbarimg = require_program("zbarimg", debian_package="zbar-tools")
    certificate = issued_for(learner, plain_course)
    (tmp_path / "c.pdf").write_bytes(certificates.render_pdf_bytes(certificate, revoked=revoked))
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", str(tmp_path / "c.pdf"), str(tmp_path / "c")], check=True, timeout=60
    )
    scanned = subprocess.run(
        [zbarimg, "-q", "--raw", str(tmp_path / "c-1.png")], capture_output=True, text=True, timeout=60
    )
    assert scanned.stdout.split() == [f"https://training.example.org/verify/{certificate.verify_code}/"]


# --- learner pages and downloads ------------------------------------------------------------------


def test_revoked_certificate_download_says_revoked(learner, admin_user, plain_course, client, tmp_path):
    certificate = issued_for(learner, plain_course)
    certificates.render_certificate_pdf(certificate_id=certificate.pk)
    client.force_login(learner)
    url = reverse("frontend:certificate_pdf", args=[certificate.pk])
    before = client.get(url)
    assert before.status_code == 200 and before["Content-Type"] == "application/pdf"
    before_text = pdf_text(b"".join(before.streaming_content), tmp_path)
    assert certificate.number in before_text and "REVOKED" not in squeezed(before_text)
    certificates.revoke_certificate(certificate_id=certificate.pk, by=admin_user, reason="Wrong person")
    after = client.get(url)
    assert after.status_code == 200 and "-REVOKED.pdf" in after["Content-Disposition"]
    text = pdf_text(after.content, tmp_path)
    assert "R E V O K E D" in text  # the letter-spaced, rotated mark
    assert "This certificate was revoked on" in text and "no longer valid" in text
    assert certificate.number in text and "Wrong person" not in text
    letter = client.get(url + "?paper=letter")
    assert page_size(pdf_info(letter.content, tmp_path)) == pytest.approx((792, 612), abs=0.01)
    assert "R E V O K E D" in pdf_text(letter.content, tmp_path)


def test_certificate_download_is_only_for_its_owner(learner, plain_course, client):
    certificate = issued_for(learner, plain_course)
    url = reverse("frontend:certificate_pdf", args=[certificate.pk])
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous.url
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    assert client.get(reverse("frontend:certificate_pdf", args=[999_999_999])).status_code == 404
    client.force_login(learner)
    assert client.get(url).status_code == 200


def test_my_certificates_api_and_page(learner, admin_user, plain_course, ce_course, client, logged_in_api):
    course = make_course(slug="annual", title="Annual refresher", validity_months=12)
    first = issue(completed_enrollment(learner, course, cycle=1))
    renewal = issue(
        completed_enrollment(learner, course, cycle=2, completed_at=datetime(2031, 2, 1, tzinfo=UTC)),
        now=datetime(2031, 2, 1, 12, tzinfo=UTC),
    )
    revoked = issued_for(learner, plain_course)
    certificates.revoke_certificate(certificate_id=revoked.pk, by=admin_user, reason="Duplicate record")
    completed_enrollment(learner, ce_course)  # awaiting its evaluation
    foreign = issued_for(UserFactory(), course)

    assert logged_in_api.get("/api/v1/me/certificates/").json() == {"results": []}  # another user
    logged_in_api.force_authenticate(learner)
    results = logged_in_api.get("/api/v1/me/certificates/").json()["results"]
    by_number = {r["number"]: r for r in results}
    assert set(by_number) == {first.number, renewal.number, revoked.number}
    assert by_number[renewal.number]["renews"] == first.number
    assert by_number[revoked.number]["status"] == "revoked"
    assert by_number[first.number]["pdf_url"] == f"/certificates/{first.pk}/pdf/"
    assert by_number[first.number]["verify_code"] == first.verify_code
    logged_in_api.force_authenticate(None)
    assert logged_in_api.get("/api/v1/me/certificates/").status_code in (401, 403)

    client.force_login(learner)
    html = client.get("/certificates/").content.decode()
    for c in (first, renewal, revoked):
        assert (
            c.number in html and f"/certificates/{c.pk}/pdf/" in html and f"/verify/{c.verify_code}/" in html
        )
    assert f"renews {first.number}" in html and "Safer prescribing" in html  # the evaluation banner
    assert reverse("frontend:evaluation", args=[ce_course.slug]) in html
    assert foreign.number not in html and "Duplicate record" not in html
    transcript = client.get("/transcript/").content.decode()
    assert f"renews {first.number}" in transcript and "(revoked)" in transcript


def test_evaluation_page_validates_then_issues(
    learner, ce_course, client, django_capture_on_commit_callbacks
):
    enrollment = completed_enrollment(learner, ce_course)
    client.force_login(learner)
    url = reverse("frontend:evaluation", args=[ce_course.slug])
    assert client.get(url).status_code == 200
    bad = client.post(url, {"relevance": "9", "clarity": "3", "confidence": "3"})
    assert bad.status_code == 200 and "Choose a rating from 1 to 5." in bad.content.decode()
    assert not CourseEvaluation.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        good = client.post(url, {"relevance": "4", "clarity": "3", "confidence": "5", "comments": "ok"})
    assert good.status_code == 302 and good.url == reverse("frontend:certificates")
    assert Certificate.objects.get().enrollment == enrollment


# --- admin actions --------------------------------------------------------------------------------


def test_admin_revoke_and_reissue_actions_ask_for_a_reason(
    learner, admin_user, plain_course, client, django_capture_on_commit_callbacks
):
    certificate = issued_for(learner, plain_course)
    client.force_login(admin_user)
    url = reverse("admin:courses_certificate_changelist")
    form = {"action": "revoke_selected", "_selected_action": [certificate.pk]}
    asked = client.post(url, form)
    assert asked.status_code == 200 and 'name="reason"' in asked.content.decode()
    empty = client.post(url, {**form, "apply": "1", "reason": "  "})
    assert empty.status_code == 200 and Certificate.objects.get().revoked_at is None
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            url, {**form, "action": "reissue_selected", "apply": "1", "reason": "Licence number corrected"}
        )
    assert done.status_code == 302
    old, new = (
        Certificate.objects.get(pk=certificate.pk),
        Certificate.objects.exclude(pk=certificate.pk).get(),
    )
    assert old.revoked_by == admin_user and old.revoked_reason == "Licence number corrected"
    assert new.replaces == old and new.pdf
    assert AuditEvent.objects.filter(action="certificate.revoked", actor=admin_user).count() == 1


# --- notification ---------------------------------------------------------------------------------


def test_ready_email_is_sent_once(learner, ce_course, admin_user):
    evaluate(enrollment := completed_enrollment(learner, ce_course))
    certificate = issue(enrollment)
    assert certificates.notify_certificate_ready(certificate_id=certificate.pk) is True
    assert certificates.notify_certificate_ready(certificate_id=certificate.pk) is False
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [learner.email] and "Safer prescribing" in message.subject
    assert certificate.number in message.body and certificate.verify_code in message.body
    assert "https://training.example.org/certificates/" in message.body
    silent = issued_for(UserFactory(email=""), make_course(slug="other"))
    revoked = issued_for(UserFactory(), make_course(slug="third"))
    certificates.revoke_certificate(certificate_id=revoked.pk, by=admin_user, reason="Error")
    assert certificates.notify_certificate_ready(certificate_id=silent.pk) is False
    assert certificates.notify_certificate_ready(certificate_id=revoked.pk) is False
    assert len(mail.outbox) == 1


# --- the safety-net sweep -------------------------------------------------------------------------


def test_sweep_issues_what_a_lost_enqueue_missed_and_never_reissues_a_revoked_one(
    learner, admin_user, plain_course, ce_course
):
    lost = completed_enrollment(learner, plain_course)  # completed, but its task never ran
    waiting = completed_enrollment(learner, ce_course)  # CE course without its evaluation
    revoked_one = issued_for(UserFactory(), make_course(slug="third"))
    certificates.revoke_certificate(certificate_id=revoked_one.pk, by=admin_user, reason="Cheating")
    unrendered = issued_for(UserFactory(), make_course(slug="fourth"))  # render step lost

    assert issue_missing_certificates() == 1
    issued = Certificate.objects.get(enrollment=lost)
    assert issued.pdf and issued.revoked_at is None
    assert not Certificate.objects.filter(enrollment=waiting).exists()
    assert Certificate.objects.filter(enrollment=revoked_one.enrollment).count() == 1
    unrendered.refresh_from_db()
    assert unrendered.pdf
    # both learners get the "ready" email their lost task never sent; the revoked one gets none
    assert [m.to for m in mail.outbox] == [[learner.email], [unrendered.user.email]]
    assert issued.notified_at is not None and unrendered.notified_at is not None
    assert issue_missing_certificates() == 0
    assert Certificate.objects.count() == 3 and len(mail.outbox) == 2
    evaluate(waiting)
    assert issue_missing_certificates() == 1
    assert Certificate.objects.get(enrollment=waiting).pdf


# --- audit chain ----------------------------------------------------------------------------------


def _events(learner, admin_user, course):
    certificate = issued_for(learner, course)
    certificates.reissue_certificate(certificate_id=certificate.pk, by=admin_user, reason="Name fix")
    second = issued_for(UserFactory(), make_course(slug="another"))
    certificates.revoke_certificate(certificate_id=second.pk, by=admin_user, reason="Error")
    events = list(AuditEvent.objects.order_by("pk"))
    assert len(events) == 5
    return events


def test_audit_chain_is_intact_after_several_events(learner, admin_user, plain_course):
    events = _events(learner, admin_user, plain_course)
    check = audit.verify_chain(batch=2)
    assert check.ok and check.events == 5 and check.first_broken_id is None
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))


def test_audit_rows_are_append_only_in_the_database(learner, admin_user, plain_course):
    events = _events(learner, admin_user, plain_course)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=events[2].pk).update(data={})
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=events[1].pk).delete()
    assert audit.verify_chain().ok


@pytest.fixture
def trigger_off():
    """Someone with the database owner's rights switches the append-only trigger off (for this test's
    transaction only): the hash chain is what still tells."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER core_auditevent_no_change")


def test_audit_chain_detects_an_edited_row(learner, admin_user, plain_course, trigger_off):
    events = _events(learner, admin_user, plain_course)
    tampered = events[2]
    AuditEvent.objects.filter(pk=tampered.pk).update(data={**tampered.data, "reason": "Nothing to see"})
    check = audit.verify_chain()
    assert not check.ok and check.first_broken_id == tampered.pk


@pytest.mark.parametrize("which", ["middle", "newest"])
def test_audit_chain_detects_a_deleted_row(learner, admin_user, plain_course, trigger_off, which):
    events = _events(learner, admin_user, plain_course)
    victim = events[1] if which == "middle" else events[-1]
    AuditEvent.objects.filter(pk=victim.pk).delete()
    check = audit.verify_chain()
    assert not check.ok
    if which == "middle":
        assert check.first_broken_id == events[2].pk
    else:  # every remaining row still chains: only the head row shows the loss
        assert check.first_broken_id is None and "head" in check.message
