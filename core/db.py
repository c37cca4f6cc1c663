"""An optional read replica for reports (DATABASE_REPLICA_URL), chosen by a database router.

Report selectors run inside `reads_replica`: while one runs, the router sends reads to the `replica`
alias when it is configured. Everything else, every write, and any read inside a transaction on the
primary (a read that must see its own writes, e.g. the audit chain's head) stays on `default`. Reports
tolerate the replica's lag of a few seconds; the learner's hot paths never read from it.
"""

from contextvars import ContextVar
from functools import wraps

from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"
_reading_reports: ContextVar[bool] = ContextVar("reading_reports", default=False)


def replica_configured() -> bool:
    return REPLICA in connections.settings


def report_alias() -> str:
    """The alias a report reads from now: the replica when configured and no transaction is open."""
    if _reading_reports.get() and replica_configured() and not connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return REPLICA
    return DEFAULT_DB_ALIAS


def reads_replica(selector):
    """Mark a report selector: its reads go to the replica when one is configured. A selector that returns
    a lazy QuerySet pins it with `.using(report_alias())` itself, since it is evaluated after return."""

    @wraps(selector)
    def wrapper(*args, **kwargs):
        token = _reading_reports.set(True)
        try:
            return selector(*args, **kwargs)
        finally:
            _reading_reports.reset(token)

    return wrapper


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        alias = report_alias()
        return alias if alias == REPLICA else None

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica is a copy of the primary: the same rows

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db != REPLICA  # the replica follows the primary by streaming replication
