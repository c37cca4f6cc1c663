"""Database sessions (SESSION_ENGINE), with the read on every page request written once per process.

Django's `db.SessionStore` compiles `Session.objects.get(session_key=..., expire_date__gt=now)` with the
ORM on every request; on the attempt page's autosave that compilation, not PostgreSQL, was most of the
session's cost (py-spy, issue 18). The same row, the same expiry rule, the same decoding and the same
handling of a missing or expired session (a new key); everything else is Django's."""

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connections, router
from django.utils import timezone


class _Row:
    __slots__ = ("session_data",)

    def __init__(self, session_data: str):
        self.session_data = session_data


class SessionStore(DatabaseSessionStore):
    _sql: str | None = None

    @classmethod
    def _select(cls, connection) -> str:
        if cls._sql is None:
            model, quote = cls.get_model_class(), connection.ops.quote_name
            cls._sql = (
                f"SELECT {quote('session_data')} FROM {quote(model._meta.db_table)} "  # noqa: S608 - names from the model
                f"WHERE {quote('session_key')} = %s AND {quote('expire_date')} > %s"
            )
        return cls._sql

    def _get_session_from_db(self):
        if self.session_key is None:
            return None
        connection = connections[router.db_for_read(self.model)]
        with connection.cursor() as cursor:
            cursor.execute(
                self._select(connection),
                [self.session_key, connection.ops.adapt_datetimefield_value(timezone.now())],
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        return _Row(row[0])
