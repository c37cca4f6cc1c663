"""The pool's health check (elearn/backends/postgresql): a connection checked out again within a second
skips the empty-query round trip; one idle longer is checked, so a dead idle connection is still caught."""

import pytest
from django.db import connection

from elearn.backends.postgresql import base as backend
from elearn.settings.base import database_from_env


class FakeConnection:
    autocommit = True

    def __init__(self):
        self.queries = []

    def execute(self, sql):
        self.queries.append(sql)


def test_only_connections_idle_for_a_while_are_checked(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(backend.time, "monotonic", lambda: clock[0])
    conn = FakeConnection()
    backend.check_if_idle(conn)  # never seen: checked
    assert conn.queries == [""]
    clock[0] += 0.2
    backend.check_if_idle(conn)  # back from a request a moment ago: no round trip
    assert conn.queries == [""]
    clock[0] += backend.POOL_CHECK_IDLE_SECONDS + 0.1
    backend.check_if_idle(conn)  # idle longer: checked again
    assert conn.queries == ["", ""]


def test_a_dead_idle_connection_fails_the_check(monkeypatch):
    class Dead(FakeConnection):
        def execute(self, sql):
            raise OSError("server closed the connection unexpectedly")

    with pytest.raises(OSError):
        backend.check_if_idle(Dead())


def test_production_database_settings_use_the_backend_and_keep_health_checks(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db.example.org:5432/elearn")
    config = database_from_env()
    assert config["ENGINE"] == "elearn.backends.postgresql" and config["CONN_HEALTH_CHECKS"] is True
    assert config["OPTIONS"]["pool"]["max_size"] >= 1
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/x.sqlite3")
    assert database_from_env()["ENGINE"] == "django.db.backends.sqlite3"


@pytest.mark.django_db
def test_the_backend_swaps_the_check_into_a_real_pool():
    settings_dict = {**connection.settings_dict, "OPTIONS": {**connection.settings_dict["OPTIONS"]}}
    settings_dict["OPTIONS"]["pool"] = {"min_size": 0, "max_size": 1}
    settings_dict["CONN_HEALTH_CHECKS"] = True
    wrapper = backend.DatabaseWrapper(settings_dict, alias="pool-check-test")
    try:
        assert wrapper.pool._check is backend.check_if_idle
    finally:
        wrapper.close_pool()


def test_pgbouncer_transaction_mode_turns_off_server_side_cursors_and_prepared_statements(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@pgbouncer.example.org:6432/elearn")
    plain = database_from_env()
    assert "DISABLE_SERVER_SIDE_CURSORS" not in plain and "prepare_threshold" not in plain["OPTIONS"]
    monkeypatch.setenv("DATABASE_PGBOUNCER", "true")
    bounced = database_from_env()
    assert bounced["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert bounced["OPTIONS"]["prepare_threshold"] is None
