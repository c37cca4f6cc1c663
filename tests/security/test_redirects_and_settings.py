"""Open redirects through `next` (login, logout) are refused, and the production settings (imported in a
subprocess with a production environment) set the cookie and transport flags."""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"  # tests/factories.py
HOSTILE_NEXT = [
    "https://evil.example/",
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "\\\\evil.example",
    "http:/evil.example",
    "https:evil.example",
    "javascript:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    "https://testserver.evil.example/",
    " //evil.example",
    "\t//evil.example",
    "/%2F%2Fevil.example",
    "https://evil.example@testserver/",
]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_login_refuses_to_redirect_off_site(client, target):
    UserFactory(username="nurse")
    response = client.post("/accounts/login/", {"username": "nurse", "password": PASSWORD, "next": target})
    assert response.status_code == 302
    location = response["Location"]
    parts = urlsplit(location)
    # Back to the site: a path on this host (browsers treat "//x" and "/\\x" as other hosts).
    assert parts.scheme == "" and parts.netloc == "", location
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location
    if target != "/%2F%2Fevil.example":  # that one is a (harmless) path on this site
        assert location == "/", location


def test_login_follows_a_local_next_and_escapes_a_hostile_one_in_the_page(client):
    UserFactory(username="nurse")
    page = client.get("/accounts/login/", {"next": '"><script>alert(1)</script>'}).content.decode()
    assert "<script>alert(1)</script>" not in page
    response = client.post(
        "/accounts/login/", {"username": "nurse", "password": PASSWORD, "next": "/transcript/"}
    )
    assert response["Location"] == "/transcript/"


@pytest.mark.parametrize("target", HOSTILE_NEXT[:6])
def test_logout_refuses_to_redirect_off_site(client, target):
    client.force_login(UserFactory())
    response = client.post("/accounts/logout/", {"next": target})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/", response["Location"]


PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "elearn.settings.production",
    "DJANGO_SECRET_KEY": "s" * 20 + "-a-production-secret-of-fifty-characters-or-more-0123",
    "AUDIT_HMAC_KEY": "a" * 20 + "-audit-key-for-the-check-only",
    "DJANGO_ALLOWED_HOSTS": "training.example.org",
    "DATABASE_URL": "postgres://app:pw@db.internal:5432/elearn",
    "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
}
NAMES = [
    "DEBUG",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_SSL_REDIRECT",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "X_FRAME_OPTIONS",
    "ALLOWED_HOSTS",
    "PASSWORD_HASHERS",
]


def production_settings(**overrides) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_", "CACHE_", "AUDIT_"))
    }
    env.update(PRODUCTION_ENV, **overrides)
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({{n: getattr(settings, n) for n in {NAMES!r}}}, default=str))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_settings_set_secure_cookie_and_transport_flags():
    s = production_settings()
    assert s["DEBUG"] is False
    assert s["SESSION_COOKIE_SECURE"] is True and s["SESSION_COOKIE_HTTPONLY"] is True
    assert s["SESSION_COOKIE_SAMESITE"] in ("Lax", "Strict")
    assert s["CSRF_COOKIE_SECURE"] is True
    assert s["SECURE_HSTS_SECONDS"] >= 31536000
    assert s["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True and s["SECURE_HSTS_PRELOAD"] is True
    assert s["SECURE_SSL_REDIRECT"] is True
    assert s["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert s["SECURE_CONTENT_TYPE_NOSNIFF"] is True and s["X_FRAME_OPTIONS"] == "DENY"
    assert s["ALLOWED_HOSTS"] == ["training.example.org"]
    assert "MD5" not in s["PASSWORD_HASHERS"][0]


def test_production_refuses_to_start_without_a_real_secret():
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_", "CACHE_", "AUDIT_"))
    }
    env.update(PRODUCTION_ENV, DJANGO_SECRET_KEY="short")
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0 and "DJANGO_SECRET_KEY" in result.stderr
