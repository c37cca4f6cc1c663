"""Who may write, and which records a surveyor may see: each rule decided here and nowhere else.

- Read-only roles (surveyors) never write: every unsafe request (POST, PUT, PATCH, DELETE) is refused
  with 403, by `ReadOnlyRolesMiddleware` for pages (session users) and by the `ReadOnlyRoles` DRF
  permission (in DEFAULT_PERMISSION_CLASSES) for the API, where token users are only known inside the
  view. Both ask `refuses_write`. A view whose POST only produces a read for its caller (logging in or
  out, requesting an evidence pack or an export of what the surveyor may already see) is marked with
  `@read_only_allowed`.
- A surveyor's scope: departments, a record date range and an expiry. `active_surveyor_scope` is the one
  lookup (None when absent or expired); `scope_window` turns the date range into the organisation-time
  window that reports, exports, person pages and evidence packs filter records by.
"""

from datetime import datetime, time, timedelta

from django.http import HttpResponseForbidden
from django.utils import timezone
from rest_framework.permissions import SAFE_METHODS, BasePermission

from core.errors import DomainError
from core.middleware import domain_error_response

from .errors import ReadOnlyRefused
from .models import Role, SurveyorScope

READ_ONLY_ROLES = frozenset({Role.SURVEYOR})
# Django's own account views: signing in and out or changing one's password writes no training record.
ACCOUNT_VIEW_NAMES = frozenset(
    {
        "login",
        "logout",
        "password_change",
        "password_change_done",
        "password_reset",
        "password_reset_done",
        "password_reset_confirm",
        "password_reset_complete",
    }
)
READ_ONLY_MESSAGE = "Your account is read-only: it can view records but not change them."


def is_read_only(user) -> bool:
    return bool(user is not None and user.is_authenticated and getattr(user, "role", None) in READ_ONLY_ROLES)


def read_only_allowed(view):
    """Mark a view (function or class) whose POST only produces a read for a read-only user."""
    view.read_only_allowed = True
    return view


def _allowed(view, url_name: str | None) -> bool:
    if url_name in ACCOUNT_VIEW_NAMES:
        return True
    for candidate in (view, getattr(view, "cls", None), getattr(view, "view_class", None)):
        if getattr(candidate, "read_only_allowed", False):
            return True
    return False


def refuses_write(*, user, method: str, view, url_name: str | None = None) -> bool:
    """The one read-only rule: an unsafe request by a read-only user to a view not marked allowed."""
    return method.upper() not in SAFE_METHODS and is_read_only(user) and not _allowed(view, url_name)


def _audit_refusal(user, request) -> None:
    from django.db import transaction

    from core import audit

    with transaction.atomic():
        audit.record(
            action="access.write_refused",
            target=("path", request.path[:64]),
            actor=user,
            data={"method": request.method, "path": request.get_full_path()[:500], "role": user.role},
        )


class ReadOnlyRolesMiddleware:
    """Pages: a read-only user's unsafe request is refused before the view runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        match = getattr(request, "resolver_match", None)
        if not refuses_write(
            user=user, method=request.method, view=view_func, url_name=match.url_name if match else None
        ):
            return None
        _audit_refusal(user, request)
        if request.path.startswith("/api/"):
            return domain_error_response(request, ReadOnlyRefused(READ_ONLY_MESSAGE))
        return HttpResponseForbidden(READ_ONLY_MESSAGE)


class ReadOnlyRoles(BasePermission):
    """API: the same rule for token-authenticated users (DEFAULT_PERMISSION_CLASSES)."""

    message = READ_ONLY_MESSAGE
    code = "read_only"

    def has_permission(self, request, view):
        match = getattr(request, "resolver_match", None)
        if refuses_write(
            user=request.user, method=request.method, view=view, url_name=match.url_name if match else None
        ):
            _audit_refusal(request.user, request)
            return False
        return True


def document_read_only_refusals(result, generator, request, public):
    """drf-spectacular hook: every write operation may answer 403 to a read-only account."""
    for path in result.get("paths", {}).values():
        for method, operation in path.items():
            if method in ("post", "put", "patch", "delete"):
                operation.setdefault("responses", {}).setdefault(
                    "403",
                    {
                        "description": "Refused: the account is read-only (surveyors), or not permitted.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    },
                )
    return result


# --- surveyor scope -------------------------------------------------------------------------------


def active_surveyor_scope(user, *, now: datetime | None = None) -> SurveyorScope | None:
    """The surveyor's scope while it lasts; None for other roles, a surveyor without a scope, or an
    expired one. One query (read afresh: an expiry or a new range applies at once)."""
    if getattr(user, "role", None) != Role.SURVEYOR or not user.is_authenticated:
        return None
    scope = SurveyorScope.objects.filter(user=user).first()
    return None if scope is None or scope.is_expired(now or timezone.now()) else scope


def surveyor_expired(user, now=None) -> bool:
    """A surveyor whose access is over (or was never given) cannot log in or use a token."""
    return getattr(user, "role", None) == Role.SURVEYOR and active_surveyor_scope(user, now=now) is None


def scope_window(scope: SurveyorScope) -> tuple[datetime, datetime]:
    """[start, end) of the scope's records in organisation time: records_from 00:00 to the day after
    records_to 00:00."""
    tz = timezone.get_current_timezone()
    start = datetime.combine(scope.records_from, time.min, tzinfo=tz)
    end = datetime.combine(scope.records_to + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


def record_window(viewer) -> tuple[datetime, datetime] | None:
    """The time window of records a viewer may see; None: no limit (every role but surveyors)."""
    if getattr(viewer, "role", None) != Role.SURVEYOR:
        return None
    scope = active_surveyor_scope(viewer)
    if scope is None:  # no scope: an empty window (they see no one anyway)
        now = timezone.now()
        return now, now
    return scope_window(scope)


# --- no self-service privileges -------------------------------------------------------------------


def is_self_grant(*, actor, subject_id) -> bool:
    return actor is not None and subject_id is not None and str(actor.pk) == str(subject_id)


def refuse_self_grant(*, actor, subject_id, what: str, error: type[DomainError]) -> None:
    """Nobody grants a privilege to themselves: an override, an exemption, an extra attempt or a skill
    sign-off needs a second person. The refusal is audited in its own transaction (committed before
    the caller's error unwinds anything), then `error(message)` is raised."""
    if not is_self_grant(actor=actor, subject_id=subject_id):
        return
    from django.db import transaction

    from core import audit

    with transaction.atomic():
        audit.record(
            action="privilege.self_grant_refused",
            target=("user", actor.pk),
            actor=actor,
            subject_user_id=actor.pk,
            data={"what": what},
        )
    raise error(
        f"You cannot grant yourself {what}: it is your own record; ask another supervisor or an admin."
    )
