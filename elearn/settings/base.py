"""Settings shared by every run. All configuration comes from the environment (django-environ).

DEBUG is off here; only `local` turns it on. `production` refuses to start without its secrets.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    # frontend first: its registration/ templates (login, password reset) win over the admin's.
    "frontend",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_celery_beat",
    "core",
    "accounts",
    "quizzes",
    "courses",
    "authoring",
    "xapi",
    "lti",
]

MIDDLEWARE = [
    "core.middleware.ProbeMiddleware",  # first: probes over plain HTTP, by IP, never redirected
    "django.middleware.security.SecurityMiddleware",
    "courses.certificates.verify_views.VerifyFastPathMiddleware",  # public verification: no session or user needed
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.sessions.SessionLifetimeMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.mfa.MFARequiredMiddleware",
    "accounts.auth.SurveyorSessionMiddleware",
    "accounts.access.ReadOnlyRolesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "core.middleware.DomainErrorMiddleware",  # domain errors a page does not handle: the error page
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "elearn.urls"
WSGI_APPLICATION = "elearn.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def database_from_env(default_url: str | None = None, *, env_name: str = "DATABASE_URL") -> dict:
    """PostgreSQL through psycopg 3 with Django's connection pool; SQLite only for the embedded run."""
    if default_url is None:
        config = env.db(env_name)
    else:
        config = env.db(env_name, default=default_url)
    engine = config["ENGINE"]
    if engine.endswith("postgresql"):
        config.setdefault("OPTIONS", {})
        if env.bool("DATABASE_POOL", default=True):
            config["OPTIONS"]["pool"] = {
                "min_size": env.int("DATABASE_POOL_MIN", default=2),
                "max_size": env.int("DATABASE_POOL_MAX", default=8),
                "timeout": env.int("DATABASE_POOL_TIMEOUT", default=10),
            }
        # Django passes `check=ConnectionPool.check_connection` to the pool itself when
        # CONN_HEALTH_CHECKS is on; passing it in the pool options too made every query fail
        # ("got multiple values for keyword argument 'check'").
        config["CONN_HEALTH_CHECKS"] = True
        config["OPTIONS"].setdefault("connect_timeout", 5)
        # The same backend, with a pool check that skips connections used in the last second
        # (elearn/backends/postgresql/base.py).
        config["ENGINE"] = "elearn.backends.postgresql"
        if env.bool("DATABASE_PGBOUNCER", default=False):
            # PgBouncer in transaction mode hands each transaction any server connection: no named
            # (server-side) cursors across statements, and no server-side prepared statements.
            config["DISABLE_SERVER_SIDE_CURSORS"] = True
            config["OPTIONS"]["prepare_threshold"] = None
    elif engine.endswith("sqlite3"):
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    return config


DATABASES = {"default": database_from_env(default_url=f"sqlite:///{BASE_DIR / 'var' / 'elearn.sqlite3'}")}
# Optional read replica for reports (see core/db.py and the README's deployment section).
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = database_from_env(env_name="DATABASE_REPLICA_URL")
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["core.db.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.auth.ExpiringSurveyorBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "frontend:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True
# The organisation's time zone: due dates are local dates in it, and pages show times in it.
TIME_ZONE = env("ORGANISATION_TIME_ZONE", default="America/New_York")
ORGANISATION_TIME_ZONE = TIME_ZONE
ORGANISATION_NAME = env("ORGANISATION_NAME", default="Demo Recovery Services")

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
# Uploads (certificate PDFs, exports, evidence packs) are never served from MEDIA_URL: only through
# permission-checked views, and each is stored under a random directory (core/storage.py).
STORAGES = {
    "default": {"BACKEND": "core.storage.PrivateFileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="training@localhost")

# Celery: Redis broker; tasks take IDs, are idempotent and are safe to redeliver.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "record-worker-heartbeat": {"task": "core.tasks.record_worker_heartbeat", "schedule": 60.0},
    "expire-overdue-attempts": {"task": "courses.tasks.expire_overdue_attempts", "schedule": 60.0},
    "issue-missing-certificates": {"task": "courses.tasks.issue_missing_certificates", "schedule": 300.0},
    "lti-resend-pending-scores": {"task": "lti.tasks.resend_pending_scores", "schedule": 300.0},
    "apply-assignment-rules": {
        "task": "courses.tasks.apply_assignment_rules",
        "schedule": crontab(hour=2, minute=15),
    },
    "send-reminders": {"task": "courses.tasks.send_reminders", "schedule": crontab(hour=7, minute=0)},
    "purge-expired-tokens": {"task": "accounts.tasks.purge_expired_tokens", "schedule": crontab(minute=40)},
    "publish-audit-checkpoint": {
        "task": "core.tasks.publish_audit_checkpoint",
        "schedule": 60.0 * env.int("AUDIT_CHECKPOINT_MINUTES", default=15),
    },
}
# The audit chain's HMAC key: from the environment only, never in the database (production requires
# it; test and local settings use a fixed development key). Checkpoints of the chain are appended to a
# file in AUDIT_CHECKPOINT_DIR (put it on storage the database's users cannot write, or ship it) and
# written to the "elearn.audit" log; core/audit.py.
AUDIT_HMAC_KEY = env("AUDIT_HMAC_KEY", default="")
AUDIT_CHECKPOINT_DIR = env("AUDIT_CHECKPOINT_DIR", default=str(BASE_DIR / "var" / "audit-checkpoints"))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "accounts.token_auth.KnoxTokenAuthentication",
    ],
    # Surveyors are read-only (accounts/access.py): the same rule as ReadOnlyRolesMiddleware for pages.
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.access.ReadOnlyRoles",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.api.exception_handler",
}
# API tokens (django-rest-knox): one per login, stored as a SHA-512 digest, expiring after this many hours;
# revoked at logout, password change, deactivation and by an admin (accounts/tokens.py).
API_TOKEN_TTL_HOURS = env.float("API_TOKEN_TTL_HOURS", default=10)
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=API_TOKEN_TTL_HOURS),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,  # a refresh would be a write on every request (autosave is the hot path)
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Staff training engine API",
    "DESCRIPTION": "Courses, quizzes, progress and certificates for addiction-treatment staff.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from our own static files (sidecar), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "accounts.access.document_read_only_refusals",
    ],
}

# Shared store for rate limits and other cross-process state: Redis when configured, else the database.
CACHE_URL = env("CACHE_URL", default="")
if CACHE_URL:
    CACHES = {"default": env.cache("CACHE_URL")}
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "elearn_cache"}
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

# Quiz engine: seconds after the deadline during which autosaves already in flight are accepted.
QUIZ_DEADLINE_GRACE_SECONDS = 10
QUIZ_STATISTICS_SCOPE_USERS = "courses.scope.staff_for_scope"
# Unreviewed (draft) course versions may be taken only where this is on: the demo run, with a banner.
COURSE_ALLOW_UNREVIEWED = env.bool("COURSE_ALLOW_UNREVIEWED", default=False)
# Certificates: the public base URL printed in QR codes and emails, paper size, numbering, signatory.
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")

# What the course layer needs of the front end, named here so that courses never names frontend
# (tests/unit/test_import_contracts.py): the drawings lessons may show, the artwork and fonts of the
# certificate PDF, and the learner pages it links to from emails and API payloads.
ILLUSTRATIONS_DIR = BASE_DIR / "frontend" / "static" / "illustrations"
CERTIFICATE_ASSETS_DIR = BASE_DIR / "frontend" / "static" / "certificates"
LEARNER_PAGE_URLS = {
    "course": "frontend:course",  # args: the course's slug
    "certificates": "frontend:certificates",
    "certificate_pdf": "frontend:certificate_pdf",  # args: the certificate's id
}
CERTIFICATE_PAPER = env("CERTIFICATE_PAPER", default="letter")  # letter (US default) | a4
CERTIFICATE_NUMBER_PREFIX = env("CERTIFICATE_NUMBER_PREFIX", default="SUS")
CERTIFICATE_SIGNATORY = env("CERTIFICATE_SIGNATORY", default="Director of Training")
# The person who signs: printed above the title on every certificate (a deploy check warns when empty).
CERTIFICATE_SIGNATORY_NAME = env("CERTIFICATE_SIGNATORY_NAME", default="")
# Failed logins (login page, admin login, token endpoint) per 15 minutes, in the shared store (the cache):
# per username + client address, and per username alone (address rotation); then a 429 until the window ends.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
LOGIN_FAILURE_USERNAME_LIMIT = env.int("LOGIN_FAILURE_USERNAME_LIMIT", default=50)
LOGIN_FAILURE_ADDRESS_LIMIT = env.int("LOGIN_FAILURE_ADDRESS_LIMIT", default=50)  # one address, any usernames
LOGIN_FAILURE_WINDOW_SECONDS = 900
# How many reverse proxies in front of the app append to X-Forwarded-For (0: REMOTE_ADDR is the client).
# Rate limits take the client address N entries from the right; entries further left are the client's own.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Public verification: requests per minute per client address (shared store: the cache).
VERIFY_RATE_LIMIT_PER_MINUTE = env.int("VERIFY_RATE_LIMIT_PER_MINUTE", default=30)
# Reminders: days relative to the due date (negative: before); escalation after N days overdue.
REMINDER_OFFSETS_DAYS = env.list("REMINDER_OFFSETS_DAYS", cast=int, default=[-7, -1, 0, 7])
ESCALATE_SUPERVISOR_AFTER_DAYS = env.int("ESCALATE_SUPERVISOR_AFTER_DAYS", default=7)
ESCALATE_DEPARTMENT_ADMIN_AFTER_DAYS = env.int("ESCALATE_DEPARTMENT_ADMIN_AFTER_DAYS", default=21)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)  # a hung mail server must not hold row locks for long

# Sessions: an idle timeout and an absolute lifetime, shorter for privileged roles (accounts/sessions.py).
# Database sessions, read with a query written once per process (accounts/session_store.py).
SESSION_ENGINE = "accounts.session_store"
SESSION_IDLE_TIMEOUT_MINUTES = env.float("SESSION_IDLE_TIMEOUT_MINUTES", default=60)
SESSION_ABSOLUTE_LIFETIME_HOURS = env.float("SESSION_ABSOLUTE_LIFETIME_HOURS", default=12)
SESSION_PRIVILEGED_IDLE_TIMEOUT_MINUTES = env.float("SESSION_PRIVILEGED_IDLE_TIMEOUT_MINUTES", default=20)
SESSION_PRIVILEGED_ABSOLUTE_LIFETIME_HOURS = env.float(
    "SESSION_PRIVILEGED_ABSOLUTE_LIFETIME_HOURS", default=8
)
SESSION_COOKIE_AGE = int(
    max(SESSION_ABSOLUTE_LIFETIME_HOURS, SESSION_PRIVILEGED_ABSOLUTE_LIFETIME_HOURS) * 3600
)

# Second factor (django-otp, accounts/mfa.py): required for the roles in accounts.mfa.MFA_REQUIRED_ROLES
# and anyone who can open the admin, optional for others. Only the test settings turn it off (its own
# tests turn it back on); the demo run enrols the demo admin and prints the setup (seed_demo).
MFA_ENFORCED = env.bool("MFA_ENFORCED", default=True)
OTP_TOTP_ISSUER = f"{ORGANISATION_NAME} training"

# The API schema and docs need a login unless this opens them.
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=False)

# Content-Security-Policy (django-csp): our own scripts, styles and fonts only, no inline script or
# style, no framing; pages are tested for violations in the browser (tests/security/test_finding8_csp.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# xAPI statements to a learning record store (xapi/, README "xAPI"): off, at no cost, unless
# XAPI_LRS_ENDPOINT is set. Statements wait in an outbox table written with each event and are sent by
# xapi.tasks.send_statements after commit and by beat every minute.
XAPI_LRS_ENDPOINT = env("XAPI_LRS_ENDPOINT", default="")
XAPI_LRS_USERNAME = env("XAPI_LRS_USERNAME", default="")
XAPI_LRS_PASSWORD = env("XAPI_LRS_PASSWORD", default="")
XAPI_ACCOUNT_HOMEPAGE = env("XAPI_ACCOUNT_HOMEPAGE", default=PUBLIC_BASE_URL)
XAPI_ACTIVITY_BASE = env("XAPI_ACTIVITY_BASE", default=PUBLIC_BASE_URL)
XAPI_ACTOR_EMAIL = env.bool("XAPI_ACTOR_EMAIL", default=False)
XAPI_BATCH_SIZE = env.int("XAPI_BATCH_SIZE", default=50)
XAPI_TIMEOUT_SECONDS = env.float("XAPI_TIMEOUT_SECONDS", default=10)
XAPI_RETRY_BASE_SECONDS = env.float("XAPI_RETRY_BASE_SECONDS", default=5)
XAPI_RETRY_MAX_SECONDS = env.float("XAPI_RETRY_MAX_SECONDS", default=600)
if XAPI_LRS_ENDPOINT:
    CELERY_BEAT_SCHEDULE["send-xapi-statements"] = {"task": "xapi.tasks.send_statements", "schedule": 60.0}

# Single sign-on with the organisation's OpenID Connect provider (sso/, mozilla-django-oidc): on when
# OIDC_ISSUER and OIDC_CLIENT_ID are set; every OIDC_* variable is read in sso/conf.py (README: Single
# sign-on). The SSO backend comes first so that it can refuse a password login of an SSO person when
# OIDC_LOCAL_PASSWORDS is off.
from sso.conf import settings_from_env as _sso_settings  # noqa: E402

INSTALLED_APPS += ["sso"]
AUTHENTICATION_BACKENDS = ["sso.backend.SSOBackend", *AUTHENTICATION_BACKENDS]
globals().update(_sso_settings(env))

# LTI 1.3 tool (lti/): platforms are registered in the admin; these only tune timings.
LTI_NONCE_SECONDS = env.int("LTI_NONCE_SECONDS", default=600)  # login initiation -> launch
LTI_LAUNCH_DATA_SECONDS = env.int("LTI_LAUNCH_DATA_SECONDS", default=3600)  # a deep-linking choice
# How long a retired signing key stays in /lti/jwks/ after `rotate_lti_keys`.
LTI_KEY_RETENTION_SECONDS = env.int("LTI_KEY_RETENTION_SECONDS", default=3600)
# First wait before a score the LMS refused is sent again (then doubling, at most an hour).
LTI_SCORE_RETRY_BASE_SECONDS = env.int("LTI_SCORE_RETRY_BASE_SECONDS", default=30)
