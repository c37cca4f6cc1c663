"""Reminders and escalation: plan Notification rows (once per enrollment, offset and recipient, by a
unique constraint), then send the pending ones.

Crash window: a reminder is marked sent in the same transaction that holds its row lock, after the
mail server accepted it. A crash between the server's acceptance and that commit leaves the row
pending, and the next run sends it again: the one place a duplicate email is possible.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import Role
from core.queue import enqueue_after_commit
from courses import links
from courses.errors import CourseError
from courses.models import Enrollment, Notification

logger = logging.getLogger(__name__)
BATCH_SIZE = 2000
MAX_SEND_ATTEMPTS = 5
ESCALATE_SUPERVISOR = "escalate-supervisor"
ESCALATE_DEPARTMENT_ADMIN = "escalate-department-admin"


def offsets() -> list[int]:
    """Days relative to the due date (negative: before) at which a learner is reminded."""
    return sorted(getattr(settings, "REMINDER_OFFSETS_DAYS", [-7, -1, 0, 7]))


def reminder_kind(offset: int) -> str:
    return f"reminder{offset:+d}"


def reminder_offset_for(days_from_due: int) -> int | None:
    """The latest reminder offset reached today (missed earlier ones are not sent late)."""
    reached = [o for o in offsets() if days_from_due >= o]
    return reached[-1] if reached else None


@dataclass
class PlanReport:
    examined: int = 0
    planned: int = 0
    batches: int = 0


def plan_notifications(
    *, today: date | None = None, now: datetime | None = None, batch_size: int = BATCH_SIZE
) -> PlanReport:
    """Create pending notifications for open enrollments of active people. Fixed queries per batch."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    earliest = min(offsets())
    supervisor_days = settings.ESCALATE_SUPERVISOR_AFTER_DAYS
    admin_days = settings.ESCALATE_DEPARTMENT_ADMIN_AFTER_DAYS
    open_enrollments = (
        Enrollment.objects.filter(
            status__in=[Enrollment.Status.NOT_STARTED, Enrollment.Status.IN_PROGRESS],
            due_date__isnull=False,
            due_date__lte=today - timedelta(days=earliest),
            user__is_active=True,
        )
        .select_related("user", "user__supervisor")
        .only(
            "id",
            "due_date",
            "user__id",
            "user__email",
            "user__department_id",
            "user__is_active",
            "user__supervisor__id",
            "user__supervisor__email",
            "user__supervisor__is_active",
        )
        .order_by("pk")
    )
    report = PlanReport()
    last_pk = 0
    while True:
        batch = list(open_enrollments.filter(pk__gt=last_pk)[:batch_size])
        if not batch:
            break
        last_pk = batch[-1].pk
        report.batches += 1
        report.examined += len(batch)
        departments = {e.user.department_id for e in batch if e.user.department_id}
        department_admins = defaultdict(list)
        if any((today - e.due_date).days >= admin_days for e in batch):
            for admin_user in (
                get_user_model()
                .objects.filter(role=Role.DEPARTMENT_ADMIN, department_id__in=departments, is_active=True)
                .only("pk", "department_id")
            ):
                department_admins[admin_user.department_id].append(admin_user)
        rows = []
        for enrollment in batch:
            user, supervisor = enrollment.user, enrollment.user.supervisor
            active_supervisor = supervisor if supervisor is not None and supervisor.is_active else None
            days = (today - enrollment.due_date).days
            offset = reminder_offset_for(days)
            if offset is not None:
                # Staff without an email address are reported to their supervisor instead.
                recipient = user if user.email else active_supervisor
                if recipient is not None:
                    rows.append(
                        Notification(
                            enrollment=enrollment,
                            kind=reminder_kind(offset),
                            recipient=recipient,
                            created_at=now,
                        )
                    )
            if days >= supervisor_days and active_supervisor is not None:
                rows.append(
                    Notification(
                        enrollment=enrollment,
                        kind=ESCALATE_SUPERVISOR,
                        recipient=active_supervisor,
                        created_at=now,
                    )
                )
            if days >= admin_days:
                for admin_user in department_admins.get(user.department_id, []):
                    rows.append(
                        Notification(
                            enrollment=enrollment,
                            kind=ESCALATE_DEPARTMENT_ADMIN,
                            recipient=admin_user,
                            created_at=now,
                        )
                    )
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
        report.planned += len(rows)
    return report


def _course_link(enrollment: Enrollment) -> str:
    return links.absolute(links.learner_page("course", enrollment.course.slug))


def _message_for(notifications: list[Notification]) -> tuple[str, str]:
    first = notifications[0]
    if first.kind.startswith("reminder"):
        enrollment = first.enrollment
        # Days from the due date as of sending (not the offset it was planned for: the first run after
        # an assignment, or a retry, can be later than the offset's own day).
        days = (
            (timezone.localdate() - enrollment.due_date).days
            if enrollment.due_date
            else int(first.kind.removeprefix("reminder"))
        )
        for_self = first.recipient_id == enrollment.user_id
        subject = (
            f"{'Overdue' if days > 0 else 'Due soon'}: {enrollment.course.title}"
            if for_self
            else f"{enrollment.user} has training {'overdue' if days > 0 else 'due'} (no email on file)"
        )
        body = render_to_string(
            "courses/email/reminder.txt",
            {
                "enrollment": enrollment,
                "days": days,
                "days_abs": abs(days),
                "for_self": for_self,
                "link": _course_link(enrollment),
                "recipient": first.recipient,
            },
        )
        return subject, body
    overdue = sorted((n.enrollment for n in notifications), key=lambda e: e.due_date)
    subject = (
        f"{len(overdue)} of your staff {'is' if len(overdue) == 1 else 'are'} overdue on required training"
    )
    body = render_to_string(
        "courses/email/escalation.txt",
        {
            "recipient": first.recipient,
            "overdue": overdue,
            "today": timezone.localdate(first.created_at),
            "department_level": first.kind == ESCALATE_DEPARTMENT_ADMIN,
        },
    )
    return subject, body


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    errors: int = 0


def send_pending(*, limit: int = 500) -> SendReport:
    """Send pending notifications: reminders one by one, escalations as one digest per recipient.
    Each group is locked (skip_locked, so parallel senders never pick the same rows), sent, then marked
    sent in the same transaction. A mail error leaves them pending with the error recorded, until
    MAX_SEND_ATTEMPTS, then failed. Raises the last mail error so the task can retry with backoff."""
    report = SendReport()
    pending = list(
        Notification.objects.filter(status=Notification.Status.PENDING)
        .order_by("pk")
        .values_list("pk", "kind", "recipient_id")[:limit]
    )
    groups: dict[tuple, list[int]] = defaultdict(list)
    for pk, kind, recipient_id in pending:
        key = (kind, recipient_id) if kind.startswith("escalate") else (kind, recipient_id, pk)
        groups[key].append(pk)
    last_error = None
    for key, ids in groups.items():
        # A digest takes every pending row of its kind and recipient, not only those in this slice of
        # `limit` rows (they are planned interleaved with reminders): one digest per recipient. Its rows
        # are locked in pk order without skipping, so a parallel sender cannot take part of them: it
        # waits, then finds them sent.
        digest = len(key) == 2
        wanted = {"kind": key[0], "recipient_id": key[1]} if digest else {"pk__in": ids}
        with transaction.atomic():
            rows = list(
                Notification.objects.select_for_update(skip_locked=not digest, of=("self",))
                .filter(status=Notification.Status.PENDING, **wanted)
                .select_related("recipient", "enrollment__user", "enrollment__course")
                .order_by("pk")
            )
            # Completed, exempted or deactivated since planning (a retry can come hours later): not sent.
            stale = [
                r
                for r in rows
                if r.enrollment.status not in (Enrollment.Status.NOT_STARTED, Enrollment.Status.IN_PROGRESS)
                or not r.enrollment.user.is_active
            ]
            if stale:
                Notification.objects.filter(pk__in=[r.pk for r in stale]).update(
                    status=Notification.Status.FAILED,
                    last_error="not sent: the training was finished or the person deactivated before sending",
                )
                report.failed += len(stale)
                rows = [r for r in rows if r not in stale]
            if not rows:
                continue
            recipient = rows[0].recipient
            if not recipient.email or not recipient.is_active:
                Notification.objects.filter(pk__in=[r.pk for r in rows]).update(
                    status=Notification.Status.FAILED, last_error="recipient has no email or is inactive"
                )
                report.failed += len(rows)
                continue
            subject, body = _message_for(rows)
            try:
                send_mail(
                    subject=subject,
                    message=body,
                    from_email=settings.DEFAULT_FROM_EMAIL,
                    recipient_list=[recipient.email],
                )
            except OSError as exc:  # smtplib errors are OSErrors; the connection refused too
                last_error = exc
                report.errors += 1
                for row in rows:
                    row.attempts += 1
                    row.last_error = f"{type(exc).__name__}: {exc}"[:500]
                    if row.attempts >= MAX_SEND_ATTEMPTS:
                        row.status = Notification.Status.FAILED
                        report.failed += 1
                Notification.objects.bulk_update(rows, ["attempts", "last_error", "status"])
                continue
            Notification.objects.filter(pk__in=[r.pk for r in rows]).update(
                status=Notification.Status.SENT, sent_at=timezone.now(), attempts=rows[0].attempts + 1
            )
            report.sent += len(rows)
    if last_error is not None:
        logger.warning("mail errors while sending reminders: %s", last_error)
        raise MailUnavailable(report, last_error)
    return report


class MailUnavailable(Exception):
    def __init__(self, report: SendReport, error: Exception):
        super().__init__(str(error))
        self.report = report
        self.error = error


MANUAL_REMINDERS_PER_HOUR = 60


class ReminderRefused(CourseError):
    http_status = 409
    code = "reminder_refused"


@transaction.atomic
def request_reminder(*, requested_by, enrollment_id: int, now: datetime | None = None) -> Notification:
    """One-click reminder from the overdue list: at most one per enrollment per day (a constraint) and
    a per-person hourly cap in the shared cache; sent by the worker after commit."""
    from core.ratelimit import hit
    from courses import scope

    now = now or timezone.now()
    enrollment = (
        Enrollment.objects.select_related("user", "user__supervisor")
        .filter(pk=enrollment_id, user__in=scope.visible_staff(requested_by), user__is_active=True)
        .first()
    )
    if enrollment is None or not scope.can_see_answers(requested_by):
        raise ReminderRefused("No such enrollment.")
    if not hit(
        scope="manual-reminder",
        key=str(requested_by.pk),
        limit=MANUAL_REMINDERS_PER_HOUR,
        window_seconds=3600,
    ):
        raise ReminderRefused("Too many reminders sent in the last hour; try again later.")
    recipient = enrollment.user if enrollment.user.email else enrollment.user.supervisor
    if recipient is None:
        raise ReminderRefused("This person has no email address and no supervisor to tell.")
    today = timezone.localdate(now)
    offset = (today - enrollment.due_date).days if enrollment.due_date else 0
    notification, created = Notification.objects.get_or_create(
        enrollment=enrollment, kind=f"reminder{offset:+d}", recipient=recipient, defaults={"created_at": now}
    )
    if (
        not created
        and notification.status == Notification.Status.SENT
        and notification.sent_at
        and (timezone.localdate(notification.sent_at) == today)
    ):
        raise ReminderRefused("A reminder was already sent today.")
    if not created and notification.status != Notification.Status.PENDING:
        raise ReminderRefused("A reminder for this day was already sent.")

    enqueue_after_commit("courses.tasks.send_pending_notifications")
    return notification
