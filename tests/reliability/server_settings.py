"""Production settings for the servers the reliability and security tests start. Two differences, both
about static files only: they are collected into the test's own folder instead of var/staticfiles, and
with Django's manifest storage without whitenoise's compression (the same hashed names and manifest;
compressing 46 MB of vendored files would add over a minute to every run)."""

import os

from elearn.settings.production import *  # noqa: F403
from elearn.settings.production import STORAGES

STATIC_ROOT = os.environ["RELIABILITY_STATIC_ROOT"]
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}
