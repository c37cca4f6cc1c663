"""One user per role over a small published course, for the security tests and the API fuzzing."""

from datetime import timedelta
from types import SimpleNamespace

from django.utils import timezone

from accounts.models import Role, SurveyorScope
from accounts.tokens import issue_token
from courses.enrollment import services
from tests.course_helpers import load_tiny
from tests.factories import DepartmentFactory, UserFactory

ROLES = ("learner", "supervisor", "admin", "surveyor")
EVERY_ROLE = tuple(Role.values)  # the API checks (schemathesis) run for each of these


def make_org(tmp_path):
    """A department with a supervisor and two learners (each enrolled in the tiny course), an admin, a
    surveyor scoped to the department, and tokens for everyone."""
    tiny = load_tiny(tmp_path)
    dept = DepartmentFactory(name="Detox unit", code="detox")
    supervisor = UserFactory(username="sup", role=Role.SUPERVISOR, department=dept)
    learner = UserFactory(username="lea", department=dept, supervisor=supervisor)
    other = UserFactory(username="oth", department=dept, supervisor=supervisor)
    admin = UserFactory(username="adm", role=Role.ADMIN, is_staff=True)
    surveyor = UserFactory(username="sur", role=Role.SURVEYOR)
    scope = SurveyorScope.objects.create(
        user=surveyor,
        records_from=timezone.localdate() - timedelta(days=365),
        records_to=timezone.localdate() + timedelta(days=1),
        expires_at=timezone.now() + timedelta(days=30),
    )
    scope.departments.add(dept)
    for person in (learner, other):
        services.enroll(user=person, course=tiny.course)
    users = {
        "learner": learner,
        "supervisor": supervisor,
        "admin": admin,
        "surveyor": surveyor,
        "other": other,
    }
    tokens = {role: issue_token(user)[1] for role, user in users.items()}
    return SimpleNamespace(tiny=tiny, dept=dept, users=users, tokens=tokens, **users)


def make_org_with_every_role(tmp_path):
    """make_org plus one user (and token) for each remaining role: a department admin of the same
    department, a course author and a medical reviewer."""
    org = make_org(tmp_path)
    extra = {
        Role.DEPARTMENT_ADMIN: UserFactory(username="dad", role=Role.DEPARTMENT_ADMIN, department=org.dept),
        Role.AUTHOR: UserFactory(username="aut", role=Role.AUTHOR),
        Role.MEDICAL_REVIEWER: UserFactory(username="rev", role=Role.MEDICAL_REVIEWER),
    }
    for role, user in extra.items():
        org.users[str(role)] = user
        org.tokens[str(role)] = issue_token(user)[1]
    assert set(EVERY_ROLE) <= set(org.tokens)
    return org
