"""The embedded run: SQLite unless DATABASE_URL is set, tasks in process, email to the console."""

from .base import *  # noqa: F403
from .base import BASE_DIR, env

# Off by default: learners trying the embedded run get the branded 403/404/500 pages, never Django's
# technical pages listing every URL pattern. Developers opt in with DJANGO_DEBUG=1.
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Static files straight from the apps (no collectstatic) whatever DEBUG says.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-only-insecure-key-do-not-use-in-production")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
# An error in a task must never turn a committed request into a 500 in the embedded run.
CELERY_TASK_EAGER_PROPAGATES = False
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

(BASE_DIR / "var").mkdir(exist_ok=True)
COURSE_ALLOW_UNREVIEWED = env.bool("COURSE_ALLOW_UNREVIEWED", default=True)
# A fictitious signatory for the demo organisation's certificates.
CERTIFICATE_SIGNATORY_NAME = env("CERTIFICATE_SIGNATORY_NAME", default="Jordan Reyes, RN (demo)")
# The audit chain's key for the embedded run only (production requires its own).
AUDIT_HMAC_KEY = env("AUDIT_HMAC_KEY", default="local-only-audit-hmac-key-do-not-use-in-production")
