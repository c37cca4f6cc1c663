"""Fault tests: gunicorn, Celery workers and outages of throwaway PostgreSQL and Redis servers that the
fixtures start on free ports (see fixtures.py, servers.py and harness.py); the machine's own servers are
never stopped. The race tests of the issue
(parallel starts, parallel submits, a save racing a submit, the deadline sweeper racing a submit,
parallel certificate issue) live in tests/integration/test_races.py and test_certificate_races.py."""

from tests.reliability.fixtures import (  # noqa: F401 - fixtures
    _throwaway_template,
    postgres_server,
    redis_server,
    static_root,
    throwaway_postgres,
    throwaway_redis,
)
