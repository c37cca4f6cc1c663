"""pytest settings: PostgreSQL (never SQLite), no connection pool, tasks eager."""

from .base import *  # noqa: F403
from .base import BASE_DIR, env

SECRET_KEY = "test-only-key"  # noqa: S105
# The pool keeps connections across tests and threads; tests need one plain connection per thread.
DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/elearn")}
DATABASES["default"]["OPTIONS"] = {"connect_timeout": 5}
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default="test_elearn")}
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# pytest itself always uses locmem (Django's test setup forces it); a worker started by an integration
# test on these settings may be given another backend, e.g. the file backend, through the environment.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "test-mail"))
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
MEDIA_ROOT = BASE_DIR / "var" / "test-media"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# A fixed development key (never a production one); checkpoints off unless a test points them at its tmp
# folder (a shared folder would hold other tests' events).
AUDIT_HMAC_KEY = "test-only-audit-hmac-key-not-a-secret"  # noqa: S105
AUDIT_CHECKPOINT_DIR = ""
# Most tests log people in directly; the second-factor tests turn this on (tests/security/test_finding8_mfa.py).
MFA_ENFORCED = False
