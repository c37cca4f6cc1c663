"""The one mapping from the provider's claims to a staff record.

| engine field            | setting (environment)     | default claim              |
| ----------------------- | ------------------------- | -------------------------- |
| employee id (the key)   | OIDC_CLAIM_EMPLOYEE_ID    | employee_id                |
| first name              | OIDC_CLAIM_FIRST_NAME     | given_name                 |
| last name               | OIDC_CLAIM_LAST_NAME      | family_name                |
| email                   | OIDC_CLAIM_EMAIL          | email                      |
| department (name/code)  | OIDC_CLAIM_DEPARTMENT     | department                 |
| job title               | OIDC_CLAIM_JOB_TITLE      | job_title                  |
| supervisor (employee id)| OIDC_CLAIM_SUPERVISOR     | supervisor_employee_id     |
| role                    | OIDC_CLAIM_GROUPS + OIDC_ROLE_GROUPS | groups          |

The result is a row in the staff CSV import's columns (accounts/staff_import.py), so SSO provisioning is
validated and written by the import's own code. Fields the provider does not manage (hire date, licence
number), and claims it does not send at all, keep the person's current values; so does a supervisor who
has no account yet (set at a later sign-in, once they exist). A claim sent empty clears the field. Roles: the first of ROLE_ORDER that any of the person's groups maps to; no mapped group
means learner. Without OIDC_ROLE_GROUPS (or without the groups claim) roles stay as set in the engine
(new people: learner). Surveyors are external and never come from the provider."""

from django.conf import settings

from accounts.models import Role

FIELDS = {
    "employee_id": "OIDC_CLAIM_EMPLOYEE_ID",
    "first_name": "OIDC_CLAIM_FIRST_NAME",
    "last_name": "OIDC_CLAIM_LAST_NAME",
    "email": "OIDC_CLAIM_EMAIL",
    "department": "OIDC_CLAIM_DEPARTMENT",
    "job_title": "OIDC_CLAIM_JOB_TITLE",
    "supervisor_employee_id": "OIDC_CLAIM_SUPERVISOR",
}
# Highest first: a person in several mapped groups gets the most senior role.
ROLE_ORDER = (
    Role.ADMIN,
    Role.DEPARTMENT_ADMIN,
    Role.MEDICAL_REVIEWER,
    Role.AUTHOR,
    Role.SUPERVISOR,
    Role.LEARNER,
)


def claim_name(field: str) -> str:
    return getattr(settings, FIELDS[field])


def role_groups() -> dict[str, str]:
    """OIDC_ROLE_GROUPS "GroupA=admin,GroupB=supervisor" as {group: role}; unknown roles are refused."""
    mapping = {}
    for item in (settings.OIDC_ROLE_GROUPS or "").split(","):
        if not item.strip():
            continue
        group, _, role = item.partition("=")
        role = role.strip().lower()
        if role not in ROLE_ORDER:
            raise ValueError(f"OIDC_ROLE_GROUPS: {role!r} is not one of {', '.join(ROLE_ORDER)}")
        mapping[group.strip()] = role
    return mapping


def role_from_groups(groups) -> str:
    if isinstance(groups, str):
        groups = [groups]
    mapped = {role_groups().get(str(group)) for group in groups or []}
    return next((role for role in ROLE_ORDER if role in mapped), Role.LEARNER)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):  # some providers send single values as one-element lists
        value = value[0] if value else ""
    return str(value).strip()


def _current_value(user, field: str) -> str:
    if field == "department":
        return user.department.code if user.department_id else ""
    if field == "supervisor_employee_id":
        return (user.supervisor.employee_id or "") if user.supervisor_id else ""
    return getattr(user, field) or ""


def staff_row(claims: dict, current=None, known_employee_ids=frozenset()) -> dict:
    """The staff-import row for these claims. `current` is the person's existing record (or None);
    `known_employee_ids` the supervisors' ids that have an account."""
    row = {}
    for field in FIELDS:
        if claim_name(field) in claims or current is None or field == "employee_id":
            row[field] = _text(claims.get(claim_name(field)))
        else:  # a claim the provider does not send keeps the current value
            row[field] = _current_value(current, field)
    if role_groups() and settings.OIDC_CLAIM_GROUPS in claims:
        row["role"] = str(role_from_groups(claims[settings.OIDC_CLAIM_GROUPS]))
    else:  # roles are not managed by the provider: the current role stays (new people: learner)
        row["role"] = current.role if current else str(Role.LEARNER)
    row["hire_date"] = current.hire_date.isoformat() if current and current.hire_date else ""
    row["licence_number"] = current.licence_number if current else ""
    if row["supervisor_employee_id"] and row["supervisor_employee_id"] not in known_employee_ids:
        row["supervisor_employee_id"] = _current_value(current, "supervisor_employee_id") if current else ""
    return row
