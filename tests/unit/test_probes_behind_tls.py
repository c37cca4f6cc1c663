"""Probes behind a TLS proxy: with production settings and SECURE_SSL_REDIRECT on, /healthz and /readyz
answer 200 over plain HTTP (even by IP, as load balancers probe), and every other path still redirects
to HTTPS."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Runs under the real production settings module, in its own process (production refuses to start
# without its secrets, and settings are read once per process).
SCRIPT = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
client = Client()
out = {"redirect_setting": settings.SECURE_SSL_REDIRECT, "first": settings.MIDDLEWARE[0]}
for name, path, host in [
    ("healthz", "/healthz", "training.example.org"),
    ("healthz_by_ip", "/healthz", "10.0.0.7:8000"),
    ("readyz", "/readyz", "10.0.0.7:8000"),
    ("home", "/", "training.example.org"),
    ("login", "/accounts/login/", "training.example.org"),
    ("api", "/api/v1/courses/", "training.example.org"),
    ("healthz_slash", "/healthz/", "training.example.org"),
]:
    r = client.get(path, HTTP_HOST=host)
    out[name] = [r.status_code, r.get("Location", ""), r.content.decode()[:200] if r.status_code == 200 else ""]
https = client.get("/api/v1/courses/", HTTP_HOST="training.example.org", HTTP_X_FORWARDED_PROTO="https")
out["api_over_https"] = [https.status_code, https.get("Location", ""), ""]
print("RESULT " + json.dumps(out))
"""


def run_production(extra_env: dict | None = None) -> dict:
    from django.conf import settings

    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "elearn.settings.production",
        "DJANGO_SECRET_KEY": "x" * 64,
        "AUDIT_HMAC_KEY": "a" * 64,
        "DJANGO_ALLOWED_HOSTS": "training.example.org",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "DATABASE_POOL": "false",
        "CELERY_BROKER_URL": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
        "CACHE_URL": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
        **(extra_env or {}),
    }
    env.pop("DJANGO_SECURE_SSL_REDIRECT", None)  # the production default, on
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    line = next((x for x in result.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line, result.stdout[-2000:] + result.stderr[-3000:]
    return json.loads(line[len("RESULT ") :])


def test_probes_answer_over_plain_http_and_everything_else_redirects(db):
    out = run_production()
    assert out["redirect_setting"] is True and out["first"] == "core.middleware.ProbeMiddleware"
    assert out["healthz"][0] == 200 and json.loads(out["healthz"][2]) == {"status": "ok"}
    assert out["healthz_by_ip"][0] == 200  # a load balancer probing by address, not by host name
    assert out["readyz"][0] == 200 and json.loads(out["readyz"][2])["checks"]["database"] == "ok"
    for name in ("home", "login", "api", "healthz_slash"):
        status, location, _ = out[name]
        assert status == 301 and location.startswith("https://training.example.org/"), (name, out[name])
    # through the proxy (X-Forwarded-Proto: https) the same path is served, not redirected (no login: 403)
    assert out["api_over_https"][:2] == [403, ""]
