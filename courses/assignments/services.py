"""The assignment engine: assignment rules create enrollments with due dates, idempotently.

Runs when a person is created or changes department or job title, and nightly (beat) for recurrence
and recertification. Works in batches with a fixed number of queries per batch, whatever the batch
holds; `bulk_create(ignore_conflicts=True)` on the (user, course, cycle) constraint makes parallel runs
add nothing twice.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts import staff_import
from accounts.models import staff_members
from core import audit
from core.queue import enqueue_after_commit
from courses.catalog import selectors
from courses.models import AssignmentRule, Certificate, Enrollment, Lesson, RequiredSkill

BATCH_SIZE = 1000


@dataclass
class AssignmentReport:
    """`planned` counts enrollments this run inserted or found inserted by a parallel run a moment before."""

    examined: int = 0
    planned: int = 0
    batches: int = 0
    planned_keys: list[tuple[int, int, int]] = field(default_factory=list)  # (user, course, cycle)


def rule_applies(rule: AssignmentRule, user) -> bool:
    if rule.audience == AssignmentRule.Audience.ALL:
        return True
    if rule.audience == AssignmentRule.Audience.DEPARTMENT:
        return user.department_id == rule.department_id
    return (user.job_title or "").strip().lower() == rule.job_title.strip().lower()


def first_due_date(rule: AssignmentRule, user) -> date:
    """New staff (hired on or after the rule's start): N days after hire. Existing staff: N days after start."""
    if user.hire_date and user.hire_date >= rule.start_date:
        return user.hire_date + timedelta(days=rule.due_days)
    return rule.start_date + timedelta(days=rule.due_days)


def next_cycle_due(rule: AssignmentRule, enrollment: Enrollment, expires_on: date | None) -> date | None:
    """When the next cycle is due: the certificate's expiry, else completion plus the recurrence."""
    if enrollment.status != Enrollment.Status.COMPLETED:
        return None
    if expires_on is not None:
        return expires_on
    if rule.recurrence_months:
        return timezone.localdate(enrollment.completed_at) + relativedelta(months=rule.recurrence_months)
    return None


def _version_totals(courses) -> dict[int, tuple]:
    totals = {}
    for course in courses:
        version = selectors.current_version(course)
        if version is None:
            continue
        lessons = Lesson.objects.filter(module__version=version).count()
        skills = RequiredSkill.objects.filter(version=version).count()
        totals[course.pk] = (version, lessons, len(selectors.version_quiz_ids(version)), skills)
    return totals


def apply_rules(
    *,
    user_ids: list[int] | None = None,
    today: date | None = None,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
) -> AssignmentReport:
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    rules = list(AssignmentRule.objects.filter(active=True).select_related("course").order_by("pk"))
    report = AssignmentReport()
    if not rules:
        return report
    courses = {rule.course_id: rule.course for rule in rules}
    totals = _version_totals(courses.values())
    users = staff_members(get_user_model().objects.filter(is_active=True)).order_by("pk")
    if user_ids is not None:
        users = users.filter(pk__in=user_ids)
    last_pk = 0
    while True:
        batch = list(
            users.filter(pk__gt=last_pk).only("pk", "department_id", "job_title", "hire_date")[:batch_size]
        )
        if not batch:
            break
        last_pk = batch[-1].pk
        report.batches += 1
        report.examined += len(batch)
        _apply_batch(batch, rules, totals, report, today=today, now=now)
    return report


@transaction.atomic
def _apply_batch(batch, rules, totals, report: AssignmentReport, *, today: date, now: datetime) -> None:
    latest: dict[tuple[int, int], Enrollment] = {}
    for enrollment in (
        Enrollment.objects.filter(user__in=batch, course_id__in=list(totals), kind=Enrollment.Kind.REGULAR)
        .order_by("user_id", "course_id", "-cycle")
        .only("pk", "user_id", "course_id", "cycle", "status", "completed_at")
    ):
        latest.setdefault((enrollment.user_id, enrollment.course_id), enrollment)
    completed_ids = [e.pk for e in latest.values() if e.status == Enrollment.Status.COMPLETED]
    expiry = dict(
        Certificate.objects.filter(enrollment_id__in=completed_ids, revoked_at__isnull=True).values_list(
            "enrollment_id", "expires_on"
        )
    )
    planned: dict[tuple[int, int], Enrollment] = {}
    for user in batch:
        for rule in rules:
            key = (user.pk, rule.course_id)
            if rule.course_id not in totals or key in planned or not rule_applies(rule, user):
                continue
            version, lessons_total, quizzes_total, skills_total = totals[rule.course_id]
            current = latest.get(key)
            if current is None:
                cycle, due, source = 1, first_due_date(rule, user), Enrollment.Source.RULE
            else:
                due = next_cycle_due(rule, current, expiry.get(current.pk))
                if due is None or today < due - timedelta(days=rule.renew_days_before):
                    continue
                cycle, source = current.cycle + 1, Enrollment.Source.RECERTIFICATION
            planned[key] = Enrollment(
                user_id=user.pk,
                course_id=rule.course_id,
                version=version,
                cycle=cycle,
                source=source,
                due_date=due,
                enrolled_at=now,
                lessons_total=lessons_total,
                quizzes_total=quizzes_total,
                signoffs_total=skills_total,
            )
    if planned:
        Enrollment.objects.bulk_create(planned.values(), ignore_conflicts=True)
        report.planned += len(planned)
        report.planned_keys += [(e.user_id, e.course_id, e.cycle) for e in planned.values()]


def import_staff(*, text: str, commit: bool, actor=None) -> "staff_import.ImportReport":
    """Validate a staff CSV; with commit, write every row or none, then assign courses to the people
    created or changed, in the same transaction. Role changes are audited."""
    rows, file_errors = staff_import.parse(text)
    if file_errors:
        return staff_import.ImportReport(rows=[], file_errors=file_errors)
    report = staff_import.validate(rows)
    if not commit or not report.ok:
        return report
    return commit_staff_report(report, actor=actor, via="staff import")


@transaction.atomic
def commit_staff_report(report: "staff_import.ImportReport", *, actor=None, via: str):
    """Write validated staff rows and assign courses to the people created or changed, in one
    transaction; role changes are audited. The staff CSV import and single sign-on (sso/services.py,
    one row per sign-in) both provision people through here."""
    report.user_ids = staff_import.apply(report)
    for row in report.rows:
        if row.action in ("create", "update") and "role" in row.changes:
            audit.record(
                action="user.role_changed",
                target=("accounts.user", row.employee_id),
                actor=actor,
                data={"employee_id": row.employee_id, "role": row.changes["role"], "via": via},
            )
    apply_rules(user_ids=report.user_ids)
    report.committed = True
    return report


@transaction.atomic
def staff_record_changed(*, user, actor=None, role_before: str | None = None) -> AssignmentReport:
    """Call after a person is created or their department, job title or role changes (admin, import)."""
    if role_before is not None and role_before != user.role:
        audit.record(
            action="user.role_changed",
            target=user,
            actor=actor,
            subject_user_id=user.pk,
            data={"from": role_before, "to": user.role},
        )
    return apply_rules(user_ids=[user.pk])


@transaction.atomic
def save_assignment_rule(*, rule: AssignmentRule, actor=None) -> AssignmentRule:
    """Validate and store a rule (audited); people it now covers are assigned at once."""
    created = rule.pk is None
    rule.full_clean()
    rule.save()
    audit.record(
        action="assignment_rule.created" if created else "assignment_rule.changed",
        target=rule,
        actor=actor,
        data={
            "course": rule.course_id,
            "audience": rule.audience,
            "active": rule.active,
            "due_days": rule.due_days,
            "recurrence_months": rule.recurrence_months,
        },
    )
    if rule.active:
        enqueue_after_commit("courses.tasks.apply_assignment_rules")
    return rule
