"""Helpers for the onboarding tests (assignment rules, reminders, staff import): small published courses
made directly in the database (no content files: the engine needs a course and its current version),
rules, completions, and fixed local dates in the organisation's time zone."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from accounts.models import Department
from courses.models import AssignmentRule, Course, CourseVersion, Enrollment

ORG_TZ = ZoneInfo(settings.TIME_ZONE)
RULE_START = date(2030, 1, 1)


def local_dt(day: date, hour: int = 9, minute: int = 0) -> datetime:
    """An aware datetime at a local wall-clock time in the organisation's time zone."""
    return datetime.combine(day, time(hour, minute), tzinfo=ORG_TZ)


def make_course(slug: str = "course-a", *, validity_months: int | None = None, ce_hours: int = 0) -> Course:
    """A course with one published (reviewed) version and no content: enough for the engine."""
    course = Course.objects.create(
        slug=slug, title=f"Course {slug}", validity_months=validity_months, ce_hours=ce_hours
    )
    CourseVersion.objects.create(
        course=course,
        number=1,
        content_hash=f"hash-{slug}",
        status=CourseVersion.Status.PUBLISHED,
        medical_reviewer="Dr Test Reviewer",
        medical_review_date=date(2029, 12, 1),
        objectives={},
        loaded_at=timezone.now(),
        published_at=timezone.now(),
    )
    return course


def make_rule(course: Course, **fields) -> AssignmentRule:
    defaults = {
        "name": f"{course.slug} rule",
        "audience": AssignmentRule.Audience.ALL,
        "start_date": RULE_START,
        "due_days": 30,
    }
    return AssignmentRule.objects.create(course=course, **{**defaults, **fields})


def make_department(code: str) -> Department:
    return Department.objects.create(name=f"Department {code}", code=code)


def complete(enrollment: Enrollment, at: datetime) -> Enrollment:
    enrollment.status = Enrollment.Status.COMPLETED
    enrollment.started_at = enrollment.started_at or at
    enrollment.completed_at = at
    enrollment.progress_percent = 100
    enrollment.save(update_fields=["status", "started_at", "completed_at", "progress_percent"])
    return enrollment


def enroll(user, course: Course, *, due: date | None, cycle: int = 1, status=None, **fields) -> Enrollment:
    """An enrollment row as the engine would have made it (bulk-style, no service side effects)."""
    return Enrollment.objects.create(
        user=user,
        course=course,
        version=course.versions.get(number=1),
        cycle=cycle,
        source=Enrollment.Source.RULE,
        due_date=due,
        enrolled_at=local_dt(RULE_START),
        status=status or Enrollment.Status.NOT_STARTED,
        **fields,
    )


def admin_change_form(user, **changes) -> dict:
    """The Django admin's change form for a person, as posted, with `changes` (None drops a field)."""
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "date_joined_0": "2030-01-01",
        "date_joined_1": "09:00:00",
        "last_login_0": "",
        "last_login_1": "",
        "role": user.role,
        "department": user.department_id or "",
        "supervisor": user.supervisor_id or "",
        "job_title": user.job_title,
        "hire_date": user.hire_date.isoformat() if user.hire_date else "",
        "employee_id": user.employee_id or "",
        "licence_number": user.licence_number,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}
