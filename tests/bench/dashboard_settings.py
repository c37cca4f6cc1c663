"""Settings for the dashboard benchmark (bench_dashboard.py): the benchmark's production settings
(app_settings.py), with static files collected into the run's own temporary folder, so that
`collectstatic` for the manifest storage never writes into the shared var/staticfiles."""

import os

from tests.bench.app_settings import *  # noqa: F403

STATIC_ROOT = os.environ["BENCH_STATIC_ROOT"]
