"""A real OpenID Connect provider for the SSO tests: django-oidc-provider in its own small Django project
with its own SQLite database, run as a separate process on loopback by tests/sso/conftest.py.

Its state lives in OP_STATE_DIR: the database, `people.json` (each account's password and claims, read
on every request, so a test can change a person's department at the provider) and `faults.json` (what
to do wrong on purpose: a token for another audience, an expired one, a forged one)."""

import os
from pathlib import Path

STATE_DIR = Path(os.environ["OP_STATE_DIR"])
SITE_URL = os.environ["OP_SITE_URL"]  # e.g. http://127.0.0.1:8151 (the issuer is SITE_URL + /openid)

SECRET_KEY = "test-provider-only-key"  # noqa: S105 - a throwaway test process
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oidc_provider",
    "tests.sso.provider",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "tests.sso.provider.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(STATE_DIR / "provider.sqlite3")}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "/accounts/login/"

OIDC_USERINFO = "tests.sso.provider.claims.userinfo"
OIDC_EXTRA_SCOPE_CLAIMS = "tests.sso.provider.claims.StaffClaims"
OIDC_IDTOKEN_INCLUDE_CLAIMS = True  # like Entra ID and Okta: the staff claims travel in the ID token too
OIDC_IDTOKEN_PROCESSING_HOOK = "tests.sso.provider.faults.id_token_hook"
OIDC_IDTOKEN_EXPIRE = 300
# The engine under test runs on another port of the same machine: browsers share cookies across ports,
# so the provider's cookies get their own names.
SESSION_COOKIE_NAME = "provider_sessionid"
CSRF_COOKIE_NAME = "provider_csrftoken"


def _exit_with_the_test_run() -> None:
    """The fixture stops this process; if the test run itself is killed, the provider follows within a
    second instead of holding its port."""
    import threading
    import time

    parent = int(os.environ.get("OP_PARENT_PID", "0"))

    def watch():
        while True:
            time.sleep(1)
            try:
                os.kill(parent, 0)
            except OSError:
                os._exit(0)

    if parent:
        threading.Thread(target=watch, daemon=True).start()


_exit_with_the_test_run()
