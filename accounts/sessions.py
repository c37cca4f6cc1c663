"""Session lifetime: a login ends after SESSION_IDLE_TIMEOUT_MINUTES without a request, and in any
case SESSION_ABSOLUTE_LIFETIME_HOURS after it began; both are shorter for privileged roles
(SESSION_PRIVILEGED_*). The last-seen time is written at most once a minute, so a busy page (autosave)
does not save the session on every request."""

import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .models import Role

STARTED = "_auth_started"
SEEN = "_auth_seen"
SEEN_RESOLUTION_SECONDS = 60
# Roles whose sessions are shorter: they see other people's records or can change them.
PRIVILEGED_ROLES = frozenset(
    {Role.SUPERVISOR, Role.DEPARTMENT_ADMIN, Role.ADMIN, Role.SURVEYOR, "author", "medical_reviewer"}
)


def is_privileged(user) -> bool:
    return getattr(user, "role", None) in PRIVILEGED_ROLES or user.is_staff or user.is_superuser


def limits(user) -> tuple[int, int]:
    """(idle seconds, absolute seconds) for this person's sessions."""
    if is_privileged(user):
        return (
            int(settings.SESSION_PRIVILEGED_IDLE_TIMEOUT_MINUTES * 60),
            int(settings.SESSION_PRIVILEGED_ABSOLUTE_LIFETIME_HOURS * 3600),
        )
    return int(settings.SESSION_IDLE_TIMEOUT_MINUTES * 60), int(
        settings.SESSION_ABSOLUTE_LIFETIME_HOURS * 3600
    )


@receiver(user_logged_in)
def _start(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[STARTED] = now
        request.session[SEEN] = now


class SessionLifetimeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        # A session whose user can no longer log in (e.g. an expired surveyor) is ended elsewhere.
        if session is not None and "_auth_user_id" in session and request.user.is_authenticated:
            now = int(time.time())
            started, seen = session.get(STARTED), session.get(SEEN)
            if started is None or seen is None:  # a session from before this rule: starts now
                session[STARTED] = started or now
                session[SEEN] = now
            else:
                idle, absolute = limits(request.user)
                if now - seen > idle or now - started > absolute:
                    logout(request)  # the request goes on anonymous: pages send it to the login page
                elif now - seen >= SEEN_RESOLUTION_SECONDS:
                    session[SEEN] = now
        return self.get_response(request)
