"""Settings of the benchmark baseline: nothing but a database with a pool of 4 (see baseline_app.py)."""

import os

import environ

SECRET_KEY = "bench-baseline-only-" + "x" * 40  # noqa: S105 - serves 127.0.0.1 during a benchmark
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "tests.bench.baseline_app"
USE_TZ = True
TIME_ZONE = "America/New_York"  # the same connection time zone as the real app

DATABASES = {
    "default": environ.Env.db_url_config(
        os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/elearn_bench")
    )
}
DATABASES["default"]["OPTIONS"] = {
    "connect_timeout": 5,
    "pool": {"min_size": 2, "max_size": int(os.environ.get("DATABASE_POOL_MAX", "4")), "timeout": 10},
}
LOGGING_CONFIG = None
