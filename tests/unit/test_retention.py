"""Retention (issue 11): completed training records and certificates are kept at least six years after a
person leaves. Deactivating a user deletes nothing and keeps every record usable (certificate
verification, transcript, reports, evidence); deleting a person with training records is refused by the
database relations (PROTECT); a deactivated person gets no new assignment, reminder or clinical update."""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.services import deactivate_user
from core import audit
from core.models import AuditEvent
from courses.assignments import reminders
from courses.assignments import services as assignments
from courses.certificates import services as certificates
from courses.certificates.tasks import issue_missing_certificates
from courses.enrollment import selectors, services
from courses.evidence import services as evidence
from courses.models import (
    AssignmentRule,
    Certificate,
    Enrollment,
    EvidencePack,
    LessonProgress,
    Notification,
    SkillSignoff,
)
from courses.reports import selectors as reports
from quizzes import services as quiz_services
from quizzes.models import Answer, Attempt
from tests.beyond_helpers import SKILLS, certify, edit_course_yaml, load, write_course
from tests.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
SIX_YEARS = timedelta(days=6 * 366)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def tiny(tmp_path, clock):
    # No expiry, so "valid" after six years is about keeping the record, not about the validity period.
    path = write_course(
        tmp_path, slug="kept-course", skills=SKILLS[:1], ce_hours=0, modules=("ma",), with_final=False
    )
    edit_course_yaml(path, validity_months=None)
    return load(path)


@pytest.fixture
def leaver(tiny):
    ward = DepartmentFactory(code="ward")
    supervisor = UserFactory(role=Role.SUPERVISOR, department=ward)
    person = UserFactory(department=ward, supervisor=supervisor, first_name="Lia", last_name="Leaving")
    certificate = certify(person, tiny)
    return person, certificate


def records_of(user) -> dict[str, list[int]]:
    return {
        "enrollments": sorted(Enrollment.objects.filter(user=user).values_list("pk", flat=True)),
        "lesson_progress": sorted(
            LessonProgress.objects.filter(enrollment__user=user).values_list("pk", flat=True)
        ),
        "attempts": sorted(Attempt.objects.filter(user=user).values_list("pk", flat=True)),
        "answers": sorted(Answer.objects.filter(attempt__user=user).values_list("pk", flat=True)),
        "certificates": sorted(Certificate.objects.filter(user=user).values_list("pk", flat=True)),
        "signoffs": sorted(SkillSignoff.objects.filter(enrollment__user=user).values_list("pk", flat=True)),
    }


def transcript_of(user) -> list[tuple]:
    return [
        (row["enrollment"].pk, [a.pk for a in row["best_attempts"]], [c.pk for c in row["certificates"]])
        for row in selectors.transcript(user=user)
    ]


def test_deactivating_keeps_every_record_and_the_certificate_still_verifies(leaver, clock, client):
    person, certificate = leaver
    admin = UserFactory(role=Role.ADMIN)
    before = records_of(person)
    assert all(before.values()), before  # something of every kind to keep
    transcript = transcript_of(person)

    deactivate_user(user=person, by=admin)
    deactivate_user(user=person, by=admin)  # idempotent
    person.refresh_from_db()
    assert person.is_active is False
    (event,) = AuditEvent.objects.filter(action="user.deactivated")
    assert (event.actor_id, event.subject_user_id) == (admin.pk, person.pk)
    assert not client.login(username=person.username, password=PASSWORD)

    # Six years later, after every periodic job has run: nothing is gone, everything still reads.
    clock.advance(days=SIX_YEARS.days)
    assignments.apply_rules()
    reminders.plan_notifications()
    reminders.send_pending()
    issue_missing_certificates()
    assert records_of(person) == before
    assert transcript_of(person) == transcript
    assert certificates.verify(code=certificate.verify_code).status == "valid"
    enrollment = Enrollment.objects.get(user=person)
    assert enrollment.status == Enrollment.Status.COMPLETED and enrollment.progress_percent == 100

    # An admin still finds the person and the certificate; the evidence for the period still lists them.
    client.force_login(admin)
    page = client.get(reverse("frontend:team_person", args=[person.pk])).content.decode()
    assert "inactive" in page and certificate.number in page
    pack = EvidencePack.objects.create(
        requested_by=admin,
        department=person.department,
        date_from=date(2030, 1, 1),
        date_to=date(2030, 12, 31),
        created_at=timezone.now(),
    )
    gathered = evidence._gather(pack)
    assert [e.user for e in gathered["enrollments"]] == [person]
    assert [c.pk for c in gathered["certificates"]] == [certificate.pk]
    assert audit.verify_chain().ok


def test_deleting_a_person_with_training_records_is_refused(leaver):
    person, certificate = leaver
    observer = SkillSignoff.objects.get(enrollment__user=person).observer
    before = records_of(person)
    with pytest.raises(ProtectedError):
        person.delete()
    with pytest.raises(ProtectedError):
        type(person).objects.filter(pk=person.pk).delete()
    # The supervisor who signed a skill off cannot be deleted either: the sign-off names them.
    with pytest.raises(ProtectedError):
        observer.delete()
    assert records_of(person) == before
    assert Certificate.objects.filter(pk=certificate.pk).exists()


def test_an_attempt_alone_is_protected_too(tiny):
    """Someone who only started a quiz (a training record, no enrollment) cannot be deleted either."""
    person = UserFactory()
    quiz_services.start_attempt(user=person, quiz=tiny.modules[0].quiz)
    with pytest.raises(ProtectedError):
        person.delete()
    assert Attempt.objects.filter(user=person).exists()


def test_deactivated_people_get_no_new_assignments(tiny):
    stays, leaves = UserFactory(), UserFactory()
    deactivate_user(user=leaves)
    AssignmentRule.objects.create(
        name="Everyone", course=tiny.course, audience=AssignmentRule.Audience.ALL, start_date=date(2030, 1, 1)
    )
    assignments.apply_rules()
    assert set(Enrollment.objects.values_list("user_id", flat=True)) == {stays.pk}


def test_deactivated_people_get_no_reminders_or_escalations(tiny, clock):
    ward = DepartmentFactory(code="ward")
    supervisor = UserFactory(role=Role.SUPERVISOR, department=ward)
    stays = UserFactory(department=ward, supervisor=supervisor)
    leaves = UserFactory(department=ward, supervisor=supervisor)
    due = timezone.localdate() - timedelta(days=8)  # overdue: a reminder and a supervisor escalation
    for person in (stays, leaves):
        services.enroll(user=person, course=tiny.course, due_date=due)
    deactivate_user(user=leaves)

    reminders.plan_notifications()
    planned = set(Notification.objects.values_list("enrollment__user_id", "kind"))
    assert planned == {(stays.pk, "reminder+7"), (stays.pk, reminders.ESCALATE_SUPERVISOR)}

    # A reminder planned before the person left is not sent after.
    Notification.objects.all().delete()
    reminders.plan_notifications()
    deactivate_user(user=stays)
    mail.outbox.clear()
    reminders.send_pending()
    assert mail.outbox == []
    assert set(Notification.objects.values_list("status", flat=True)) == {Notification.Status.FAILED}


def test_a_deactivated_person_leaves_the_team_lists_but_keeps_their_record(leaver):
    person, _ = leaver
    supervisor = person.supervisor
    deactivate_user(user=person)
    filters = reports.parse_filters(
        {"course": "kept-course"}, courses=[Enrollment.objects.get(user=person).course]
    )
    assert person not in [row.person for row in reports.team_matrix(supervisor, filters).rows]
    assert reports.person_detail(supervisor, person_id=person.pk)["certificates"]
