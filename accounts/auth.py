"""Surveyor accounts expire: the login is refused after the scope's expiry, and an open session ends;
an API token stops working too (accounts.tokens). Every page, file or API call a surveyor opens is audited."""

from django.contrib.auth import logout
from django.contrib.auth.backends import ModelBackend
from django.shortcuts import redirect

from .access import surveyor_expired
from .models import Role


class ExpiringSurveyorBackend(ModelBackend):
    def user_can_authenticate(self, user):
        return super().user_can_authenticate(user) and not surveyor_expired(user)


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
