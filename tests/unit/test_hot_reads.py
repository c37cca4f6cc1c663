"""The reads every request makes (session, session user, API token) are plain SQL written once per
process (issue 18); they give what Django's ORM gave, with the same rules."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.forms.models import model_to_dict
from django.test import Client
from django.utils import timezone

from accounts.auth import ExpiringSurveyorBackend
from accounts.session_store import SessionStore
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"  # tests/factories.py


def test_session_loads_the_stored_data_with_one_query(django_assert_num_queries):
    store = SessionStore()
    store["answer"] = 42
    store.save()
    again = SessionStore(session_key=store.session_key)
    with django_assert_num_queries(1):
        assert again["answer"] == 42
    assert again.session_key == store.session_key


def test_expired_missing_and_malformed_sessions_load_empty_and_get_a_new_key():
    store = SessionStore()
    store["answer"] = 42
    store.save()
    Session.objects.filter(session_key=store.session_key).update(expire_date=timezone.now() - timedelta(1))
    for key in (store.session_key, "no-such-session-key", "x" * 40, None):
        loaded = SessionStore(session_key=key)
        assert dict(loaded.items()) == {}
        assert loaded.session_key is None


def test_session_user_is_the_orm_user_and_inactive_users_are_refused(django_assert_num_queries):
    person = UserFactory(job_title="Night nurse", hire_date=timezone.localdate())
    backend = ExpiringSurveyorBackend()
    with django_assert_num_queries(1):
        user = backend.get_user(person.pk)
    orm = get_user_model().objects.get(pk=person.pk)
    fields = [f.attname for f in orm._meta.concrete_fields]
    assert [getattr(user, f) for f in fields] == [getattr(orm, f) for f in fields]
    assert model_to_dict(user) == model_to_dict(orm) and not user._state.adding
    assert backend.get_user(person.pk + 10_000) is None
    assert backend.get_user("not-a-number") is None
    person.is_active = False
    person.save()
    assert backend.get_user(person.pk) is None


def test_a_logged_in_page_request_still_works_and_logout_ends_it():
    person = UserFactory()
    client = Client()
    assert client.login(username=person.username, password=PASSWORD)
    assert client.get("/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302
