"""Writes to staff records. Each function runs in one transaction."""

import secrets
from dataclasses import dataclass

from django.db import transaction

from .errors import ScopeRefused
from .models import Department, Role, User

DEMO_USERS = (
    # username, role, first name, last name, job title
    ("admin", Role.ADMIN, "Alex", "Admin", "Training coordinator"),
    ("supervisor", Role.SUPERVISOR, "Sam", "Supervisor", "Shift supervisor"),
    ("learner", Role.LEARNER, "Lee", "Learner", "Behavioral health technician"),
    ("surveyor", Role.SURVEYOR, "Sky", "Surveyor", "External surveyor"),
    ("author", Role.AUTHOR, "Ari", "Author", "Nurse educator"),
    ("reviewer", Role.MEDICAL_REVIEWER, "Dana", "Reviewer", "Medical director"),
)


@dataclass(frozen=True)
class DemoSeedResult:
    password: str
    generated_password: bool
    created: list[str]


@transaction.atomic
def seed_demo_users(*, password: str | None) -> DemoSeedResult:
    """Idempotent: creates the demo department and users once; later runs only reset the password."""
    generated = not password
    password = password or secrets.token_urlsafe(12)
    department, _ = Department.objects.get_or_create(
        code="residential", defaults={"name": "Residential unit"}
    )
    created = []
    users = {}
    for username, role, first, last, title in DEMO_USERS:
        user, was_created = User.objects.get_or_create(
            username=username,
            defaults={
                "role": role,
                "first_name": first,
                "last_name": last,
                "job_title": title,
                "department": department,
                "email": f"{username}@example.org",
                "is_staff": role == Role.ADMIN,
                "is_superuser": role == Role.ADMIN,
                # The demo admin administers the site; it is not a member of staff taking training.
                "service_account": role == Role.ADMIN,
            },
        )
        user.set_password(password)
        user.save(update_fields=["password"])
        users[username] = user
        if was_created:
            created.append(username)
    from datetime import timedelta

    from django.utils import timezone

    from .models import SurveyorScope

    if not SurveyorScope.objects.filter(user=users["surveyor"]).exists():
        today = timezone.localdate()
        scope = SurveyorScope.objects.create(
            user=users["surveyor"],
            records_from=today.replace(year=today.year - 6),
            records_to=today,
            expires_at=timezone.now() + timedelta(days=30),
        )
        scope.departments.set([department])
    learner = users["learner"]
    if learner.supervisor_id != users["supervisor"].pk:
        learner.supervisor = users["supervisor"]
        learner.save(update_fields=["supervisor"])
    return DemoSeedResult(password=password, generated_password=generated, created=created)


@transaction.atomic
def deactivate_user(*, user: User, by=None) -> User:
    """A person leaves: they can no longer log in, get no assignments or reminders, and every training
    record and certificate stays (retention: at least six years; nothing here deletes)."""
    from core import audit

    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
        audit.record(action="user.deactivated", target=user, actor=by, subject_user_id=user.pk)
    from .tokens import revoke_tokens

    revoke_tokens(user=user, reason="deactivated", by=by)
    return user


@transaction.atomic
def grant_surveyor_access(*, user: User, departments, records_from, records_to, expires_at, by=None):
    """Give a surveyor read-only, time-limited access to some departments' records (audited)."""
    from core import audit

    from .models import SurveyorScope

    if user.role != Role.SURVEYOR:
        raise ScopeRefused("Only surveyor accounts get a surveyor scope.")
    if records_from > records_to:
        raise ScopeRefused("The date range is reversed.", field_errors={"records_to": ["Before the start."]})
    scope, _ = SurveyorScope.objects.update_or_create(
        user=user,
        defaults={
            "records_from": records_from,
            "records_to": records_to,
            "expires_at": expires_at,
            "created_by": by,
        },
    )
    scope.departments.set(departments)
    audit.record(
        action="surveyor.scope_granted",
        target=scope,
        actor=by,
        subject_user_id=user.pk,
        data={
            "departments": [d.pk for d in departments],
            "from": records_from,
            "to": records_to,
            "expires_at": expires_at,
        },
    )
    return scope


@transaction.atomic
def provision_external_user(
    *, source: str, username_hint: str, email: str = "", first_name: str = "", last_name: str = ""
) -> User:
    """Create the account of a person who arrives through an external system (an LMS launch, single
    sign-on): a learner with no usable local password, audited with where they came from. The caller
    decides whether an existing account matches first; this only creates."""
    from core import audit

    base = "".join(ch for ch in username_hint.lower() if ch.isalnum() or ch in "._-")[:140] or "person"
    username, n = base, 1
    while User.objects.filter(username=username).exists():
        n += 1
        username = f"{base}-{n}"
    user = User(
        username=username,
        email=email[:254],
        first_name=first_name[:150],
        last_name=last_name[:150],
        role=Role.LEARNER,
    )
    user.set_unusable_password()
    user.save()
    audit.record(
        action="user.provisioned",
        target=user,
        subject_user_id=user.pk,
        data={"source": source, "email": email},
    )
    return user
