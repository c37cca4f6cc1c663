"""Fixtures shared by tests/reliability and tests/security (imported by both conftest files): static
files for the production-settings servers, and the throwaway PostgreSQL and Redis servers the fault
tests stop and start (tests/reliability/servers.py). Other fault tests reuse them by asking for
`postgres_server` (the test's database moved onto a cluster of its own) or `redis_server`."""

import subprocess
import uuid

import pytest

from tests.reliability.harness import collect_static, unavailable
from tests.reliability.servers import PG_BINDIR, ServerUnavailable, ThrowawayPostgres, ThrowawayRedis


@pytest.fixture(scope="session")
def static_root(tmp_path_factory):
    """Static files collected once per run for the production-settings servers (their manifest)."""
    root = tmp_path_factory.mktemp("static")
    collect_static(root)
    return root


@pytest.fixture(scope="session")
def throwaway_redis():
    """A Redis server of the test run's own on a free port; stopped and deleted at the end of the run."""
    try:
        server = ThrowawayRedis()
    except ServerUnavailable as exc:
        unavailable(str(exc))
    server.start()
    yield server
    server.destroy()


@pytest.fixture
def redis_server(throwaway_redis):
    """The throwaway Redis, running and empty at the start of the test."""
    if not throwaway_redis.up():  # a test that failed inside an outage left it down
        throwaway_redis.start()
    throwaway_redis.client().flushall()
    return throwaway_redis


@pytest.fixture(scope="session")
def throwaway_postgres():
    """A PostgreSQL cluster of the test run's own (initdb into a temporary folder, a free port); stopped
    and deleted at the end of the run."""
    try:
        server = ThrowawayPostgres()
    except ServerUnavailable as exc:
        unavailable(str(exc))
    try:
        server.start()
    except Exception:
        server.destroy()
        raise
    yield server
    server.destroy()


TEMPLATE_DB = "elearn_template"


@pytest.fixture(scope="session")
def _throwaway_template(throwaway_postgres, django_db_setup, django_db_blocker):
    """The migrated test database copied once (pg_dump | pg_restore) into the throwaway cluster as a
    template: each test then gets a fresh copy in milliseconds instead of running the migrations."""
    from django.db import connection

    with django_db_blocker.unblock():
        db = connection.settings_dict
        source = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        connection.close()
    throwaway_postgres.sql(f'CREATE DATABASE "{TEMPLATE_DB}"')
    dump = subprocess.run(
        [str(PG_BINDIR / "pg_dump"), "--format=custom", "--no-owner", "--no-privileges", source],
        capture_output=True,
        timeout=300,
    )
    assert dump.returncode == 0, dump.stderr.decode(errors="replace")
    restore = subprocess.run(
        [str(PG_BINDIR / "pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
         "--dbname", throwaway_postgres.url(TEMPLATE_DB)],
        input=dump.stdout, capture_output=True, timeout=300,
    )  # fmt: skip
    assert restore.returncode == 0, restore.stderr.decode(errors="replace")
    return TEMPLATE_DB


@pytest.fixture
def postgres_server(transactional_db, throwaway_postgres, _throwaway_template):
    """Moves this test's database onto the throwaway cluster (a fresh copy of the migrated test
    database), for a test that stops and starts PostgreSQL. The test must be
    `django_db(transaction=True)`: its connections and the servers it starts (database_url_for_tests)
    all point at the copy; afterwards the copy is dropped and the settings restored."""
    from django.db import connections

    if not throwaway_postgres.running():  # a test that failed inside an outage left it down
        throwaway_postgres.start()
    name = f"drill_{uuid.uuid4().hex[:12]}"
    throwaway_postgres.sql(f'CREATE DATABASE "{name}" TEMPLATE "{_throwaway_template}"')
    default = connections["default"]
    original = dict(default.settings_dict)
    for conn in connections.all():
        conn.close()
    # The settings dict is shared by every thread's connection object: update it in place.
    default.settings_dict.update(
        HOST="127.0.0.1", PORT=str(throwaway_postgres.port), NAME=name, USER="postgres", PASSWORD=""
    )
    try:
        yield throwaway_postgres
    finally:
        for conn in connections.all():
            conn.close()
        default.settings_dict.clear()
        default.settings_dict.update(original)
        if not throwaway_postgres.running():
            throwaway_postgres.start()
        throwaway_postgres.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
