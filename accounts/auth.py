"""Surveyor accounts expire: the login is refused after the scope's expiry, and an open session ends;
an API token stops working too (accounts.token_auth). Every page, file or API call a surveyor opens is audited."""

from django.contrib.auth import logout
from django.contrib.auth.backends import ModelBackend
from django.shortcuts import redirect

from .access import surveyor_expired
from .models import Role


class ExpiringSurveyorBackend(ModelBackend):
    def user_can_authenticate(self, user):
        return super().user_can_authenticate(user) and not surveyor_expired(user)

    def get_user(self, user_id):
        """The session's user on every page request: one primary-key read written once per process
        (core.rows), not compiled by the ORM each time; the same instance and the same checks."""
        global _user_reader
        if _user_reader is None:
            _user_reader = _UserReader()
        user = _user_reader.get(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class _UserReader:
    def __init__(self):
        from django.contrib.auth import get_user_model

        from core.rows import RowBuilder

        self.user = RowBuilder(get_user_model())
        pk = self.user.model._meta.pk
        self.pk = pk
        self.sql = f"SELECT {self.user.columns('u')} FROM {self.user.table} u WHERE u.{pk.column} = %s"  # noqa: S608 - names from the model

    def get(self, user_id):
        from django.db import connection

        try:
            user_id = self.pk.to_python(user_id)
        except Exception:  # noqa: BLE001 - as ModelBackend: a malformed id in a session is no user
            return None
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [user_id])
            row = cursor.fetchone()
        return None if row is None else self.user.build(row)


_user_reader: _UserReader | None = None


def _is_surveyor(user) -> bool:
    return user is not None and user.is_authenticated and getattr(user, "role", None) == Role.SURVEYOR


class SurveyorSessionMiddleware:
    """Ends the session of a surveyor whose access expired, and records every page or file a surveyor
    opens in the audit log (the surveyor's own trail for the program)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if _is_surveyor(user) and surveyor_expired(user):
            logout(request)
            return redirect("login")
        response = self.get_response(request)
        # Read again: an API request authenticated by token gets its user during the view.
        user = getattr(request, "user", None)
        if _is_surveyor(user) and not request.path.startswith("/static/"):
            from django.db import transaction

            from core import audit

            with transaction.atomic():
                audit.record(
                    action="surveyor.opened",
                    target=("path", request.path[:64]),
                    actor=user,
                    data={
                        "method": request.method,
                        "path": request.get_full_path()[:500],
                        "status": response.status_code,
                    },
                )
        return response
