"""Production: every secret from the environment, no defaults; a missing variable stops startup."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import database_from_env, env


def required(name: str) -> str:
    value = env.str(name, default="").strip()
    if not value:
        raise ImproperlyConfigured(f"Set the {name} environment variable (required in production).")
    return value


SECRET_KEY = required("DJANGO_SECRET_KEY")
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 50 characters long.")
# Keys the audit chain (core/audit.py); kept outside the database, distinct from DJANGO_SECRET_KEY.
AUDIT_HMAC_KEY = required("AUDIT_HMAC_KEY")
if len(AUDIT_HMAC_KEY) < 32 or AUDIT_HMAC_KEY == SECRET_KEY:
    raise ImproperlyConfigured(
        "AUDIT_HMAC_KEY must be at least 32 characters and differ from DJANGO_SECRET_KEY."
    )
ALLOWED_HOSTS = [h.strip() for h in required("DJANGO_ALLOWED_HOSTS").split(",") if h.strip()]
required("DATABASE_URL")
try:
    DATABASES = {"default": database_from_env()}
except Exception as exc:  # django-environ raises assorted errors for malformed URLs
    raise ImproperlyConfigured(f"DATABASE_URL is malformed: {exc}") from exc
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = database_from_env(env_name="DATABASE_REPLICA_URL")
if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL in production.")
CELERY_BROKER_URL = required("CELERY_BROKER_URL")
if not CELERY_BROKER_URL.startswith(("redis://", "rediss://", "amqp://")):
    raise ImproperlyConfigured("CELERY_BROKER_URL must be a redis:// or amqp:// URL.")
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_EAGER_PROPAGATES = True
CACHES = {"default": env.cache("CACHE_URL", default=CELERY_BROKER_URL.replace("/0", "/1"))}

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")

# xAPI to a learning record store (optional, README "xAPI"): when an LRS is configured, statements go
# over HTTPS with the LRS's credentials, and the actor homePage is named explicitly (it says whose
# employee ids the statements carry).
if XAPI_LRS_ENDPOINT:
    if not XAPI_LRS_ENDPOINT.startswith("https://"):
        raise ImproperlyConfigured("XAPI_LRS_ENDPOINT must be an https:// URL (statements identify staff).")
    required("XAPI_LRS_USERNAME")
    required("XAPI_LRS_PASSWORD")
    XAPI_ACCOUNT_HOMEPAGE = required("XAPI_ACCOUNT_HOMEPAGE")

# Single sign-on (optional, README "Single sign-on"): when configured, the issuer is HTTPS, the client is
# confidential (sso/conf.py).
from sso.conf import check_production as _check_sso  # noqa: E402

_check_sso(OIDC_ISSUER, OIDC_RP_CLIENT_ID, OIDC_RP_CLIENT_SECRET)
