"""Celery discovers `courses.tasks`: the tasks live with their capability (`courses.<package>.tasks`)
and keep their registered names `courses.tasks.NAME` (beat schedules and queued messages use them)."""

from courses.assignments.tasks import apply_assignment_rules, send_pending_notifications, send_reminders
from courses.certificates.tasks import (
    issue_certificate_task,
    issue_missing_certificates,
    render_certificate_task,
)
from courses.enrollment.tasks import expire_overdue_attempts
from courses.evidence.tasks import build_evidence_pack
from courses.reports.tasks import run_export

__all__ = [
    "expire_overdue_attempts",
    "issue_certificate_task",
    "issue_missing_certificates",
    "render_certificate_task",
    "apply_assignment_rules",
    "send_pending_notifications",
    "send_reminders",
    "run_export",
    "build_evidence_pack",
]
