"""A real Celery worker process for the tests that need one: the project's own app, on the test database
this process uses, on the broker the test names."""

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def celery_worker(
    *, name: str, broker_url: str, settings_module: str = "elearn.settings.test", env: dict | None = None
) -> Iterator[subprocess.Popen]:
    """A solo-pool worker named `name@host`, its output piped for a failing test to show; stopped at the end."""
    db = connection.settings_dict
    worker_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": broker_url,
        **(env or {}),
    }
    celery = shutil.which("celery", path=str(Path(sys.executable).parent))
    proc = subprocess.Popen(
        [celery, "-A", "elearn", "worker", "--pool=solo", "--loglevel=INFO", "-n", f"{name}@%h"],
        cwd=ROOT,
        env=worker_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
