"""Surveyor accounts expire: the login is refused after the scope's expiry, and an open session ends."""

from django.contrib.auth import logout
from django.contrib.auth.backends import ModelBackend
from django.shortcuts import redirect
from django.utils import timezone

from .models import Role, SurveyorScope


def surveyor_expired(user, now=None) -> bool:
    if getattr(user, "role", None) != Role.SURVEYOR:
        return False
    scope = SurveyorScope.objects.filter(user=user).only("expires_at").first()
    return scope is None or scope.is_expired(now or timezone.now())


class ExpiringSurveyorBackend(ModelBackend):
    def user_can_authenticate(self, user):
        return super().user_can_authenticate(user) and not surveyor_expired(user)


class SurveyorSessionMiddleware:
    """Ends the session of a surveyor whose access expired, and records every page or file a surveyor
    opens in the audit log (the surveyor's own trail for the program)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.role != Role.SURVEYOR:
            return self.get_response(request)
        if surveyor_expired(user):
            logout(request)
            return redirect("login")
        response = self.get_response(request)
        if not request.path.startswith("/static/"):
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
