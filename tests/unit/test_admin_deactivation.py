"""Deactivating a person in the admin goes through accounts.services.deactivate_user: audited, API tokens
revoked, every training record kept (issue 15, item 4)."""

import pytest
from django.urls import reverse
from knox.models import AuthToken

from accounts.models import Role
from core.models import AuditEvent
from tests.factories import UserFactory
from tests.onboarding_helpers import admin_change_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(role=Role.ADMIN, is_staff=True, is_superuser=True))
    return client


def test_unticking_active_in_the_admin_deactivates_through_the_service(admin_client):
    person = UserFactory(job_title="Nurse")
    AuthToken.objects.create(user=person)
    url = reverse("admin:accounts_user_change", args=[person.pk])

    response = admin_client.post(url, admin_change_form(person, is_active=None, job_title="Charge nurse"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    person.refresh_from_db()
    assert not person.is_active and person.job_title == "Charge nurse"
    event = AuditEvent.objects.get(action="user.deactivated", subject_user_id=person.pk)
    assert event.actor.is_superuser
    assert not AuthToken.objects.filter(user=person).exists()


def test_an_admin_edit_that_keeps_the_person_active_records_no_deactivation(admin_client):
    person = UserFactory()
    url = reverse("admin:accounts_user_change", args=[person.pk])
    response = admin_client.post(url, admin_change_form(person, job_title="Counsellor"))
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
