"""Finding 4 (issue 24): a department admin exempted their own enrollment and gave themselves an extra
final-exam attempt. Nobody grants an override, exemption, extra attempt or skill sign-off to themselves
(accounts.access.refuse_self_grant), through the services or the pages; every refusal is audited."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from core.models import AuditEvent
from courses.assignments import overrides
from courses.enrollment import services
from courses.models import Enrollment, EnrollmentOverride, RequiredSkill, SkillSignoff
from quizzes.models import QuizOverride
from tests.course_helpers import load_tiny
from tests.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(tmp_path):
    tiny = load_tiny(tmp_path)
    dept = DepartmentFactory()
    manager = UserFactory(role=Role.DEPARTMENT_ADMIN, department=dept)
    colleague = UserFactory(role=Role.LEARNER, department=dept)
    for person in (manager, colleague):
        services.enroll(user=person, course=tiny.course, due_date=timezone.localdate() + timedelta(days=30))
    return tiny, manager, colleague


def refusals(user):
    return AuditEvent.objects.filter(action="privilege.self_grant_refused", actor=user)


@pytest.mark.parametrize(
    "kind, extra",
    [
        ("exemption", {}),
        ("due_date_extension", {"new_due_date": timezone.localdate() + timedelta(days=90)}),
        ("extra_attempt", {}),
        ("cooldown_reset", {}),
        ("time_multiplier", {"value": "2"}),
    ],
)
def test_finding4_no_self_privileges_through_the_service(org, kind, extra):
    tiny, manager, colleague = org
    enrollment = Enrollment.objects.get(user=manager)
    details = {"quiz_id": tiny.version.final_exam_id} if kind in overrides.QUIZ_KINDS else {}
    details |= {"enrollment_id": enrollment.pk} if kind not in overrides.QUIZ_KINDS else {}
    with pytest.raises(overrides.OverrideRefused, match="cannot grant yourself"):
        overrides.grant_override(
            granted_by=manager, person_id=manager.pk, kind=kind, reason="I need it", **details, **extra
        )
    assert not QuizOverride.objects.exists() and not EnrollmentOverride.objects.exists()
    enrollment.refresh_from_db()
    assert enrollment.status != "exempt"
    assert refusals(manager).count() == 1
    assert refusals(manager).get().data["what"].startswith("an override")
    # the same grant to a colleague is fine
    colleague_details = dict(details)
    if "enrollment_id" in details:
        colleague_details["enrollment_id"] = Enrollment.objects.get(user=colleague).pk
    overrides.grant_override(
        granted_by=manager, person_id=colleague.pk, kind=kind, reason="Approved", **colleague_details, **extra
    )


def test_finding4_no_self_privileges_through_the_pages(org):
    tiny, manager, colleague = org
    client = Client()
    client.force_login(manager)
    enrollment = Enrollment.objects.get(user=manager)
    own_page = client.get(f"/team/people/{manager.pk}/").content.decode()
    assert f"/team/people/{manager.pk}/overrides/" not in own_page  # no form on one's own page
    for form in (
        {"kind": "exemption", "enrollment": enrollment.pk, "reason": "self"},
        {"kind": "extra_attempt", "quiz": tiny.version.final_exam_id, "reason": "self"},
    ):
        response = client.post(f"/team/people/{manager.pk}/overrides/", form, follow=True)
        assert "You cannot grant yourself" in response.content.decode()
    assert not QuizOverride.objects.exists() and not EnrollmentOverride.objects.exists()
    assert refusals(manager).count() == 2
    skill = RequiredSkill.objects.create(version=tiny.version, key="observed", title="Observed skill")
    response = client.post(
        f"/team/signoffs/{enrollment.pk}/{skill.pk}/",
        {"observed_on": timezone.localdate().isoformat()},
        follow=True,
    )
    assert "You cannot grant yourself a skill sign-off" in response.content.decode()
    assert refusals(manager).count() == 3 and not SkillSignoff.objects.exists()


def test_finding4_no_self_skill_signoff(org):
    tiny, manager, colleague = org
    skill = RequiredSkill.objects.create(version=tiny.version, key="observed", title="Observed skill")
    with pytest.raises(services.SignoffRefused, match="cannot grant yourself a skill sign-off"):
        services.sign_off_skill(
            observer=manager,
            enrollment_id=Enrollment.objects.get(user=manager).pk,
            skill_id=skill.pk,
            observed_on=timezone.localdate(),
        )
    assert not SkillSignoff.objects.exists() and refusals(manager).count() == 1
    services.sign_off_skill(
        observer=manager,
        enrollment_id=Enrollment.objects.get(user=colleague).pk,
        skill_id=skill.pk,
        observed_on=timezone.localdate(),
    )
    assert SkillSignoff.objects.count() == 1
