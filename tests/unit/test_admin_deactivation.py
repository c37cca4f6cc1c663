"""Deactivating a person in the admin goes through accounts.services.deactivate_user: audited, API tokens
revoked, every training record kept (issue 15, item 4)."""

import pytest
from django.urls import reverse
from knox.models import AuthToken

from accounts.models import Role
from core.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def change_data(user, **changes) -> dict:
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "date_joined_0": "2030-01-01",
        "date_joined_1": "09:00:00",
        "last_login_0": "",
        "last_login_1": "",
        "role": user.role,
        "department": user.department_id or "",
        "supervisor": user.supervisor_id or "",
        "job_title": user.job_title,
        "hire_date": user.hire_date.isoformat() if user.hire_date else "",
        "employee_id": user.employee_id or "",
        "licence_number": user.licence_number,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(role=Role.ADMIN, is_staff=True, is_superuser=True))
    return client


def test_unticking_active_in_the_admin_deactivates_through_the_service(admin_client):
    person = UserFactory(job_title="Nurse")
    AuthToken.objects.create(user=person)
    url = reverse("admin:accounts_user_change", args=[person.pk])

    response = admin_client.post(url, change_data(person, is_active=None, job_title="Charge nurse"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    person.refresh_from_db()
    assert not person.is_active and person.job_title == "Charge nurse"
    event = AuditEvent.objects.get(action="user.deactivated", subject_user_id=person.pk)
    assert event.actor.is_superuser
    assert not AuthToken.objects.filter(user=person).exists()


def test_an_admin_edit_that_keeps_the_person_active_records_no_deactivation(admin_client):
    person = UserFactory()
    url = reverse("admin:accounts_user_change", args=[person.pk])
    response = admin_client.post(url, change_data(person, job_title="Counsellor"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert not AuditEvent.objects.filter(action="user.deactivated").exists()


def test_the_bulk_action_deactivates_through_the_service(admin_client):
    people = [UserFactory(), UserFactory()]
    response = admin_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "deactivate_people", "_selected_action": [p.pk for p in people]},
    )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="user.deactivated").count() == 2
    assert not any(type(p).objects.get(pk=p.pk).is_active for p in people)
