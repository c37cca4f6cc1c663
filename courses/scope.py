"""Who a viewer may see and act on: report roles, the staff in a viewer's scope, record windows."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from accounts.access import active_surveyor_scope
from accounts.models import Department, Role, staff_members

User = get_user_model()


SUBTREE_SQL = """
    WITH RECURSIVE tree(id) AS (
        SELECT id FROM accounts_user WHERE supervisor_id = %s
        UNION
        SELECT u.id FROM accounts_user u JOIN tree t ON u.supervisor_id = t.id
    ) SELECT id FROM tree
"""


REPORT_ROLES = {Role.SUPERVISOR, Role.DEPARTMENT_ADMIN, Role.ADMIN, Role.SURVEYOR}


def can_view_reports(user) -> bool:
    return user.is_authenticated and (user.is_superuser or user.role in REPORT_ROLES)


def is_surveyor(user) -> bool:
    """An external surveyor: reads records in their scope, takes no training."""
    return user.is_authenticated and user.role == Role.SURVEYOR


def can_see_answers(user) -> bool:
    """Surveyors see completion records and certificates, never answers."""
    return user.is_authenticated and (
        user.is_superuser or user.role in {Role.SUPERVISOR, Role.DEPARTMENT_ADMIN, Role.ADMIN}
    )


def can_grant_overrides(user) -> bool:
    return can_see_answers(user)


def visible_staff(viewer) -> QuerySet:
    """The staff a viewer may report on: an admin all staff, a department admin their department, a
    supervisor their direct and indirect reports, a surveyor their scope; a learner nobody. Only staff
    (accounts.models.staff_members): surveyors and service accounts are never counted or listed."""
    return staff_members(_visible_users(viewer))


def _visible_users(viewer) -> QuerySet:
    if not viewer.is_authenticated:
        return User.objects.none()
    if viewer.is_superuser or viewer.role == Role.ADMIN:
        return User.objects.all()
    if viewer.role == Role.DEPARTMENT_ADMIN:
        return (
            User.objects.filter(department_id=viewer.department_id)
            if viewer.department_id
            else User.objects.none()
        )
    if viewer.role == Role.SUPERVISOR:
        return User.objects.filter(pk__in=RawSQL(SUBTREE_SQL, [viewer.pk]))  # noqa: S611 - constant SQL, bound parameter
    if viewer.role == Role.SURVEYOR:
        return surveyor_scope(viewer)
    return User.objects.none()


def statistics_scope(viewer) -> str:
    """The key item statistics are stored under for this viewer: whose staff the numbers cover."""
    if viewer.is_superuser or viewer.role == Role.ADMIN:
        return "all"
    if viewer.role == Role.DEPARTMENT_ADMIN:
        return f"department:{viewer.department_id or 0}"
    return f"{viewer.role}:{viewer.pk}"  # a supervisor's subtree, a surveyor's scope: per person


def staff_for_scope(scope: str) -> QuerySet:
    """The staff of a stored statistics scope (settings.QUIZ_STATISTICS_SCOPE_USERS), by the same rule
    as the viewer's reports; a scope whose viewer is gone or changed role covers nobody."""
    kind, _, ident = scope.partition(":")
    if kind == "department":
        return User.objects.filter(department_id=int(ident)) if int(ident) else User.objects.none()
    viewer = User.objects.filter(pk=int(ident or 0), role=kind, is_active=True).first()
    return visible_staff(viewer) if viewer is not None else User.objects.none()


def surveyor_scope(viewer) -> QuerySet:
    """Surveyors are scoped to departments (issue: surveyor evidence); without a scope they see nobody."""
    return staff_members(User.objects.filter(department__in=departments_in_scope(viewer)))


def departments_in_scope(viewer) -> QuerySet:
    """The departments a viewer answers for (evidence packs, a surveyor's staff): every department for
    an admin, their own for a department admin, those of an active scope for a surveyor (one query to
    find the scope), none for anyone else."""
    if viewer.is_superuser or viewer.role == Role.ADMIN:
        return Department.objects.all()
    if viewer.role == Role.DEPARTMENT_ADMIN:
        return Department.objects.filter(pk=viewer.department_id)
    if viewer.role == Role.SURVEYOR:
        scope = active_surveyor_scope(viewer)
        return Department.objects.none() if scope is None else scope.departments.all()
    return Department.objects.none()


def in_window(window: tuple[datetime, datetime] | None, *fields: str) -> Q:
    """Records a viewer may see by date (accounts.access.record_window): any of `fields` inside the
    window; everything when there is no window. An enrollment is dated by ENROLLMENT_DATES."""
    if window is None:
        return Q()
    start, end = window
    condition = Q(pk__in=[])
    for name in fields:
        if name.endswith("due_date"):
            condition |= Q(**{f"{name}__gte": start.date(), f"{name}__lt": end.date()})
        else:
            condition |= Q(**{f"{name}__gte": start, f"{name}__lt": end})
    return condition


# An enrollment belongs to a period if it was opened, completed or due in it (the evidence pack's rule).
ENROLLMENT_DATES = ("enrolled_at", "completed_at", "due_date")


def enrollment_in_window(window, prefix: str = "") -> Q:
    return in_window(window, *(prefix + name for name in ENROLLMENT_DATES))
