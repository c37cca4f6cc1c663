"""One user per role over a small published course, for the security tests and the API fuzzing."""

from datetime import timedelta
from types import SimpleNamespace

from django.utils import timezone

from accounts.models import Role, SurveyorScope
from accounts.tokens import issue_token
from courses import services
from tests.course_helpers import load_tiny
from tests.factories import DepartmentFactory, UserFactory

ROLES = ("learner", "supervisor", "admin", "surveyor")


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
