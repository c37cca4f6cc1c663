import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import IntegrityError, OperationalError
from django.test import override_settings
from django.urls import path

from accounts.models import Role, User
from accounts.services import seed_demo_users

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_is_json_and_needs_no_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_database(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"


def test_readyz_reports_database_down_with_503(client, db, monkeypatch):
    monkeypatch.setattr("core.health.check_database", lambda: (False, "OperationalError"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "OperationalError"}}


@override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0", CELERY_TASK_ALWAYS_EAGER=False)
def test_readyz_reports_broker_down_with_503(client, db, monkeypatch):
    monkeypatch.setattr("core.health.check_broker", lambda: (False, "OperationalError"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "OperationalError"}


def _database_down_view(request):
    raise OperationalError("connection refused")


urlpatterns = [path("boom/", _database_down_view), path("api/boom/", _database_down_view)]


@override_settings(ROOT_URLCONF=__name__)
@pytest.mark.parametrize(("url", "kind"), [("/boom/", "text/html"), ("/api/boom/", "application/json")])
def test_database_outage_is_503_not_500(client, url, kind, django_db_blocker):
    client.raise_request_exception = False
    # The middleware drops the broken connection (close_old_connections); outside a test transaction that
    # touches the connection an earlier test left open, which pytest-django blocks without this.
    with django_db_blocker.unblock():
        response = client.get(url)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith(kind)


def test_token_endpoint_returns_token_for_valid_credentials(api_client, user):
    response = api_client.post(
        "/api/v1/auth/token/",
        {"username": user.username, "password": "correct horse battery staple"},
        format="json",
    )
    assert response.status_code == 200
    token = response.json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/schema/").status_code == 200


def test_token_endpoint_rejects_bad_credentials_with_field_errors(api_client, user):
    response = api_client.post("/api/v1/auth/token/", {"username": user.username}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()["errors"]
    response = api_client.post(
        "/api/v1/auth/token/", {"username": user.username, "password": "wrong"}, format="json"
    )
    assert response.status_code == 400


def test_schema_and_docs_are_served_without_cdn(client, user):
    client.force_login(user)  # behind a login unless API_DOCS_PUBLIC (tests/security/test_finding8_*)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/auth/token/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


def test_login_page_renders(client, db):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content


def test_home_requires_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_user_cannot_supervise_themself(user):
    user.supervisor_id = user.pk
    with pytest.raises(IntegrityError):
        user.save()


def test_seed_demo_is_idempotent_and_links_learner_to_supervisor(db):
    first = seed_demo_users(password="demo-pass-123")
    second = seed_demo_users(password="demo-pass-123")
    assert sorted(first.created) == ["admin", "author", "learner", "reviewer", "supervisor", "surveyor"]
    assert second.created == []
    assert User.objects.count() == 6
    assert User.objects.get(username="author").role == Role.AUTHOR
    assert User.objects.get(username="reviewer").role == Role.MEDICAL_REVIEWER
    learner = User.objects.get(username="learner")
    assert learner.role == Role.LEARNER
    assert learner.supervisor.username == "supervisor"
    assert User.objects.get(username="surveyor").role == Role.SURVEYOR
    assert learner.check_password("demo-pass-123")


def test_seed_demo_generates_password_when_not_given(db):
    result = seed_demo_users(password=None)
    assert result.generated_password and len(result.password) >= 12
    assert User.objects.get(username="admin").check_password(result.password)


def _run_production_check(env_overrides: dict) -> subprocess.CompletedProcess:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_", "AUDIT_"))
    }
    env.update(env_overrides)
    return subprocess.run(
        [
            sys.executable,
            "manage.py",
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
            "--settings=elearn.settings.production",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


GOOD_PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "x" * 20 + "-production-secret-key-for-the-check-only-0123456789",
    "AUDIT_HMAC_KEY": "a" * 20 + "-audit-key-for-the-check-only",
    "DJANGO_ALLOWED_HOSTS": "training.example.org",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/elearn",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
}


def test_production_check_deploy_is_clean_when_configured():
    result = _run_production_check(GOOD_PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr + result.stdout


@pytest.mark.parametrize(
    "missing",
    ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL", "AUDIT_HMAC_KEY"],
)
def test_production_refuses_to_start_without_required_variable(missing):
    env = {k: v for k, v in GOOD_PRODUCTION_ENV.items() if k != missing}
    result = _run_production_check(env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_production_rejects_malformed_database_url():
    result = _run_production_check({**GOOD_PRODUCTION_ENV, "DATABASE_URL": "mysql-ish:nonsense"})
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr
