"""Writes to staff records. Each function runs in one transaction."""

import secrets
from dataclasses import dataclass

from django.db import transaction

from .models import Department, Role, User

DEMO_USERS = (
    # username, role, first name, last name, job title
    ("admin", Role.ADMIN, "Alex", "Admin", "Training coordinator"),
    ("supervisor", Role.SUPERVISOR, "Sam", "Supervisor", "Shift supervisor"),
    ("learner", Role.LEARNER, "Lee", "Learner", "Behavioral health technician"),
    ("surveyor", Role.SURVEYOR, "Sky", "Surveyor", "External surveyor"),
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
            },
        )
        user.set_password(password)
        user.save(update_fields=["password"])
        users[username] = user
        if was_created:
            created.append(username)
    learner = users["learner"]
    if learner.supervisor_id != users["supervisor"].pk:
        learner.supervisor = users["supervisor"]
        learner.save(update_fields=["supervisor"])
    return DemoSeedResult(password=password, generated_password=generated, created=created)
