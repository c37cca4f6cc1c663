"""Supervisor and admin reports: who may see whom, the team progress matrix, the overdue list, the
person drill-down, quiz statistics and completion over time. Every function runs a fixed number of
queries whatever the number of staff (asserted in tests)."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.functions import TruncWeek
from django.utils import timezone

from accounts.access import record_window
from accounts.models import Role
from core.db import reads_replica, report_alias
from courses.enrollment import selectors
from courses.models import (
    Course,
    CourseVersion,
    Enrollment,
    EnrollmentOverride,
    Lesson,
    LessonProgress,
    Module,
    Notification,
)
from courses.scope import (
    SUBTREE_SQL,
    can_see_answers,
    enrollment_in_window,
    in_window,
    statistics_scope,
    visible_staff,
)
from quizzes.models import Answer, Attempt, AttemptState, Quiz
from quizzes.statistics import objective_mastery, stored_item_statistics

# --- filters --------------------------------------------------------------------------------------

SORTS = {
    "name": ("last_name", "first_name", "username"),
    "-name": ("-last_name", "-first_name", "-username"),
    "department": ("department__name", "last_name"),
    "-department": ("-department__name", "last_name"),
    "due": ("enrollment_due", "last_name"),
    "-due": ("-enrollment_due", "last_name"),
    "progress": ("enrollment_progress", "last_name"),
    "-progress": ("-enrollment_progress", "last_name"),
}
STATUSES = ("not_started", "in_progress", "completed", "exempt", "overdue", "not_assigned")


@dataclass
class ReportFilters:
    course: Course | None = None
    department_id: int | None = None
    role: str = ""
    supervisor_id: int | None = None
    status: str = ""
    search: str = ""
    sort: str = "name"
    errors: dict[str, str] = field(default_factory=dict)


def parse_filters(params, *, courses: list[Course]) -> ReportFilters:
    """Validate query parameters against allow-lists; bad values are reported and ignored, never
    passed on to the database as names."""
    filters = ReportFilters()
    slug = params.get("course") or ""
    by_slug = {c.slug: c for c in courses}
    if slug and slug not in by_slug:
        filters.errors["course"] = "Unknown course."
    filters.course = by_slug.get(slug) or (courses[0] if courses else None)
    for name in ("department", "supervisor"):
        raw = params.get(name) or ""
        if raw:
            if raw.isdigit():
                setattr(filters, f"{name}_id", int(raw))
            else:
                filters.errors[name] = "Must be a number."
    role = params.get("role") or ""
    if role and role not in Role.values:
        filters.errors["role"] = "Unknown role."
    else:
        filters.role = role
    status = params.get("status") or ""
    if status and status not in STATUSES:
        filters.errors["status"] = "Unknown status."
    else:
        filters.status = status
    filters.search = (params.get("q") or "").strip()[:100]
    sort = params.get("sort") or "name"
    if sort not in SORTS:
        filters.errors["sort"] = "Unknown sort."
        sort = "name"
    filters.sort = sort
    return filters


def _latest_enrollment(course_id: int, window=None):
    return Enrollment.objects.filter(
        enrollment_in_window(window), user=OuterRef("pk"), course_id=course_id, kind=Enrollment.Kind.REGULAR
    ).order_by("-cycle")


def filtered_staff(viewer, filters: ReportFilters) -> QuerySet:
    people = visible_staff(viewer).filter(is_active=True)
    if filters.department_id:
        people = people.filter(department_id=filters.department_id)
    if filters.role:
        people = people.filter(role=filters.role)
    if filters.supervisor_id:
        people = people.filter(pk__in=RawSQL(SUBTREE_SQL, [filters.supervisor_id]))  # noqa: S611 - constant SQL
    if filters.search:
        q = filters.search
        people = people.filter(
            Q(first_name__icontains=q)
            | Q(last_name__icontains=q)
            | Q(username__icontains=q)
            | Q(employee_id__icontains=q)
        )
    if filters.course is not None:
        latest = _latest_enrollment(filters.course.pk, record_window(viewer))
        people = people.annotate(
            enrollment_status=Subquery(latest.values("status")[:1]),
            enrollment_due=Subquery(latest.values("due_date")[:1]),
            enrollment_progress=Subquery(latest.values("progress_percent")[:1]),
        )
        if filters.status == "overdue":
            people = people.filter(selectors.overdue_filter(due="enrollment_due", status="enrollment_status"))
        elif filters.status == "not_assigned":
            people = people.filter(enrollment_status__isnull=True)
        elif filters.status:
            people = people.filter(enrollment_status=filters.status)
    return people.order_by(*SORTS[filters.sort])


# --- team progress matrix --------------------------------------------------------------------------


@dataclass
class MatrixRow:
    person: object
    enrollment: Enrollment | None
    cells: dict[str, str]  # module key or "final" -> state
    overdue: bool
    certificate: object = None  # the enrollment's certificate in force (not revoked), if any


@dataclass
class Matrix:
    columns: list[tuple[str, str]]  # (key, title)
    rows: list[MatrixRow]
    total: int
    page: int
    pages: int
    summary: dict[str, int]


@reads_replica
def team_matrix(viewer, filters: ReportFilters, *, page: int = 1, per_page: int = 50) -> Matrix:
    """People × modules with state, skills signed, completion and certificate. 10 queries whatever the
    number of staff or answers."""
    from courses.models import Certificate

    course = filters.course
    people_qs = filtered_staff(viewer, filters)
    summary = _summary(people_qs, course)
    total = summary["people"]
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    people = list(
        people_qs.select_related("department", "supervisor")[(page - 1) * per_page : page * per_page]
    )
    if course is None:
        return Matrix([], [MatrixRow(p, None, {}, False) for p in people], total, page, pages, summary)
    enrollments: dict[int, Enrollment] = {}
    window = record_window(viewer)
    for enrollment in Enrollment.objects.filter(
        enrollment_in_window(window), user__in=people, course=course, kind=Enrollment.Kind.REGULAR
    ).order_by("user_id", "-cycle"):
        enrollments.setdefault(enrollment.user_id, enrollment)
    certificates = {
        c.enrollment_id: c
        for c in Certificate.objects.filter(
            enrollment__in=list(enrollments.values()), revoked_at__isnull=True
        ).only("pk", "enrollment_id", "number", "expires_on", "verify_code")
    }
    version_ids = {e.version_id for e in enrollments.values()}
    current = CourseVersion.objects.filter(course=course).order_by("-status", "-number").first()
    if current is not None:
        version_ids.add(current.pk)
    modules = list(Module.objects.filter(version_id__in=version_ids).order_by("position"))
    lesson_counts = dict(
        Lesson.objects.filter(module__in=modules)
        .values("module_id")
        .annotate(n=Count("pk"))
        .values_list("module_id", "n")
    )
    read = defaultdict(int)
    for enrollment_id, module_id, n in (
        LessonProgress.objects.filter(enrollment__in=list(enrollments.values()), completed_at__isnull=False)
        .values("enrollment_id", "lesson__module_id")
        .annotate(n=Count("pk"))
        .values_list("enrollment_id", "lesson__module_id", "n")
    ):
        read[(enrollment_id, module_id)] = n
    finals = dict(CourseVersion.objects.filter(pk__in=version_ids).values_list("pk", "final_exam_id"))
    quiz_ids = {m.quiz_id for m in modules} | {f for f in finals.values() if f}
    attempts = {}
    # Only attempts made during the enrollment shown (courses/enrollment/progress.py): last cycle's passes do not
    # count for this year's recertification.
    for user_id, quiz_id, passed, count in (
        Attempt.objects.filter(
            in_window(window, "started_at"),
            quiz_id__in=quiz_ids,
            state=AttemptState.SUBMITTED,
            user__enrollments__in=list(enrollments.values()),
            started_at__gte=F("user__enrollments__enrolled_at"),
        )
        .values("user_id", "quiz_id")
        .annotate(passed=Count("pk", filter=Q(passed=True)), n=Count("pk"))
        .values_list("user_id", "quiz_id", "passed", "n")
    ):
        attempts[(user_id, quiz_id)] = (passed > 0, count)
    column_keys = []
    for module in modules:
        if (module.key, module.title) not in column_keys:
            column_keys.append((module.key, module.title))
    columns = [*column_keys, ("final", "Final exam")]
    today = timezone.localdate()
    rows = []
    for person in people:
        enrollment = enrollments.get(person.pk)
        cells = {}
        overdue = False
        if enrollment is not None:
            overdue = selectors.is_overdue(enrollment, today)
            for module in (m for m in modules if m.version_id == enrollment.version_id):
                cells[module.key] = _cell(
                    attempts.get((person.pk, module.quiz_id)),
                    read[(enrollment.pk, module.pk)],
                    lesson_counts.get(module.pk, 0),
                    overdue=overdue,
                    exempt=enrollment.status == "exempt",
                )
            final_id = finals.get(enrollment.version_id)
            if final_id:
                cells["final"] = _cell(
                    attempts.get((person.pk, final_id)),
                    0,
                    0,
                    overdue=overdue,
                    exempt=enrollment.status == "exempt",
                )
        certificate = certificates.get(enrollment.pk) if enrollment is not None else None
        rows.append(MatrixRow(person, enrollment, cells, overdue, certificate))
    return Matrix(columns, rows, total, page, pages, summary)


def _cell(attempt_info, lessons_read: int, lessons_total: int, *, overdue: bool, exempt: bool) -> str:
    if exempt:
        return "exempt"
    if attempt_info and attempt_info[0]:
        return "passed"
    if overdue:
        return "overdue"
    if attempt_info:
        return "failed"
    if lessons_read:
        return "in_progress"
    return "not_started"


def _summary(people_qs: QuerySet, course: Course | None) -> dict[str, int]:
    """Counts over the whole filtered set (not just the page): one aggregate query."""
    if course is None:
        return {"people": people_qs.count()}
    return people_qs.order_by().aggregate(
        people=Count("pk"),
        completed=Count("pk", filter=Q(enrollment_status="completed")),
        in_progress=Count("pk", filter=Q(enrollment_status="in_progress")),
        not_started=Count("pk", filter=Q(enrollment_status="not_started")),
        exempt=Count("pk", filter=Q(enrollment_status="exempt")),
        not_assigned=Count("pk", filter=Q(enrollment_status__isnull=True)),
        overdue=Count(
            "pk", filter=selectors.overdue_filter(due="enrollment_due", status="enrollment_status")
        ),
    )


# --- overdue list ---------------------------------------------------------------------------------


@reads_replica
def overdue_enrollments(
    viewer, *, course: Course | None = None, department_id: int | None = None
) -> QuerySet:
    """Open enrollments past their due date, most overdue first (one query when evaluated)."""
    today = timezone.localdate()
    qs = (
        Enrollment.objects.filter(
            enrollment_in_window(record_window(viewer)),
            user__in=visible_staff(viewer).filter(is_active=True),
        )
        .filter(selectors.overdue_filter(today))
        .select_related("user", "user__department", "user__supervisor", "course")
    )
    if course is not None:
        qs = qs.filter(course=course)
    if department_id:
        qs = qs.filter(user__department_id=department_id)
    last_reminder = Notification.objects.filter(enrollment=OuterRef("pk"), status=Notification.Status.SENT)
    return (
        qs.annotate(last_reminder_at=Max("notifications__sent_at"), reminded=Exists(last_reminder))
        .order_by("due_date", "user__last_name")
        .using(report_alias())  # evaluated after return (pagination, export): pinned here
    )


# --- person drill-down ----------------------------------------------------------------------------


@reads_replica
def person_detail(viewer, *, person_id: int) -> dict | None:
    """Enrollments, skills and their sign-offs, attempts (with answers for roles that may see them),
    certificates, reminders and overrides of one visible person; None when not visible (the same 404 as
    missing). 10 queries for a viewer who may see answers, 8 otherwise."""
    person = visible_staff(viewer).select_related("department", "supervisor").filter(pk=person_id).first()
    if person is None:
        return None
    window = record_window(viewer)
    enrollments = list(
        Enrollment.objects.filter(enrollment_in_window(window), user=person)
        .select_related(*selectors.OUTLINE_RELATED)
        .order_by("course__title", "-cycle")
    )
    # Every quiz override: the quiz states below need them all, whatever the viewer's window.
    quiz_overrides = list(person.quiz_overrides.select_related("quiz", "granted_by").order_by("-granted_at"))
    detail = {
        "person": person,
        "enrollments": enrollments,
        "certificates": list(
            person.certificates.filter(in_window(window, "issued_at"))
            .select_related("renews")
            .order_by("-issued_at")
        ),
        "notifications": list(
            Notification.objects.filter(in_window(window, "created_at"), enrollment__user=person)
            .select_related("recipient", "enrollment__course")
            .order_by("-created_at")[:100]
        ),
        "overrides": list(
            EnrollmentOverride.objects.filter(in_window(window, "granted_at"), enrollment__user=person)
            .select_related("granted_by", "enrollment__course")
            .order_by("-granted_at")
        ),
        # A surveyor sees the overrides granted in their window (in_window, applied to the list the
        # quiz states need whole).
        "quiz_overrides": quiz_overrides
        if window is None
        else [o for o in quiz_overrides if window[0] <= o.granted_at < window[1]],
        "attempts": [],
        "answers": {},
        "skills": _skills_of(enrollments),
        # Each unfinished enrollment's quizzes as the person sees them (the one start rule).
        "outlines": selectors.course_outlines(
            enrollments=[
                e
                for e in enrollments
                if e.status not in (Enrollment.Status.COMPLETED, Enrollment.Status.EXEMPT)
            ],
            overrides=quiz_overrides,
            with_skills=False,  # the page lists skills itself
        ),
    }
    if can_see_answers(viewer):
        attempts = list(
            Attempt.objects.filter(in_window(window, "started_at"), user=person)
            .select_related("quiz")
            .defer("layout")
            .order_by("-started_at")[:200]
        )
        detail["attempts"] = attempts
        answers = defaultdict(list)
        for answer in (
            Answer.objects.filter(attempt__in=attempts).select_related("question").order_by("question__key")
        ):
            answers[answer.attempt_id].append(answer)
        detail["answers"] = dict(answers)
    return detail


def person_quizzes(*, person_id: int) -> QuerySet:
    """The module quizzes and final exams of a person's course versions (the final has the attempt
    limit), for the override form. 1 query when evaluated."""
    versions = CourseVersion.objects.filter(enrollments__user_id=person_id)
    return (
        Quiz.objects.filter(Q(modules__version__in=versions) | Q(pk__in=versions.values("final_exam_id")))
        .distinct()
        .order_by("title")
    )


def _skills_of(enrollments: list[Enrollment]) -> list[dict]:
    """Per enrollment with required skills: each skill and its sign-off (observer, date) or None. 2 queries."""
    from courses.models import RequiredSkill, SkillSignoff

    skills = defaultdict(list)
    for skill in RequiredSkill.objects.filter(version_id__in={e.version_id for e in enrollments}).order_by(
        "position", "pk"
    ):
        skills[skill.version_id].append(skill)
    signed = {
        (s.enrollment_id, s.skill_id): s
        for s in SkillSignoff.objects.filter(enrollment__in=enrollments).select_related("observer")
    }
    return [
        {"enrollment": e, "rows": [(skill, signed.get((e.pk, skill.pk))) for skill in skills[e.version_id]]}
        for e in enrollments
        if skills[e.version_id]
    ]


# --- quiz statistics ------------------------------------------------------------------------------


@reads_replica
def quiz_statistics(viewer, *, quiz: Quiz) -> dict:
    """Score distribution, pass rate, average time, per-question statistics and objectives by mastery,
    over the viewer's visible staff, first attempts only."""
    staff = visible_staff(viewer)
    firsts = list(
        Attempt.objects.filter(
            in_window(record_window(viewer), "started_at"),
            quiz=quiz,
            number=1,
            state=AttemptState.SUBMITTED,
            user__in=staff,
        )
        .order_by()  # counts and sums only: no join to accounts_user to sort by the learner's name
        .values_list("score", "passed", "started_at", "submitted_at")
    )
    bins = [0] * 10
    for score, *_ in firsts:
        bins[min(9, int(float(score) // 10))] += 1
    seconds = [(s - st).total_seconds() for _, _, st, s in firsts if s and st]
    # Stored per scope (everyone, or this viewer's staff), refreshed by a task after grading; a scope
    # with few answers is recomputed on the spot.
    scope = statistics_scope(viewer)
    items, computed_at = stored_item_statistics(
        quiz=quiz, scope=scope, users=None if scope == "all" else staff
    )
    return {
        "computed_at": computed_at,
        "quiz": quiz,
        "attempts": len(firsts),
        "histogram": bins,
        "pass_rate": (sum(1 for _, p, *_ in firsts if p) / len(firsts)) if firsts else None,
        "average_minutes": (sum(seconds) / len(seconds) / 60) if seconds else None,
        "items": items,
        "objectives": objective_mastery(items),
    }


# --- completion over time -------------------------------------------------------------------------


@reads_replica
def completions_by_week(viewer, *, course: Course | None = None, weeks: int = 26) -> dict:
    """Completed enrollments per week, overall and per department: one query."""
    first_monday = timezone.localdate() - timedelta(days=timezone.localdate().weekday(), weeks=weeks)
    since = timezone.make_aware(datetime.combine(first_monday, time.min))  # whole weeks only
    qs = Enrollment.objects.filter(
        in_window(record_window(viewer), "completed_at"),
        user__in=visible_staff(viewer),
        status=Enrollment.Status.COMPLETED,
        completed_at__gte=since,
    )
    if course is not None:
        qs = qs.filter(course=course)
    rows = (
        qs.annotate(week=TruncWeek("completed_at"))
        .values("week", "user__department__name")
        .annotate(n=Count("pk"))
        .order_by("week")
    )
    overall: dict[date, int] = defaultdict(int)
    by_department: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        week = row["week"].date() if hasattr(row["week"], "date") else row["week"]
        overall[week] += row["n"]
        by_department[row["user__department__name"] or "No department"][week] += row["n"]
    # Every week of the window, empty ones too, so the chart's axis is time (no completions: no weeks).
    labels = []
    if overall:
        week = timezone.localdate(since) - timedelta(days=timezone.localdate(since).weekday())
        last = timezone.localdate() - timedelta(days=timezone.localdate().weekday())
        while week <= last:
            labels.append(week)
            week += timedelta(weeks=1)
        labels = sorted(set(labels) | set(overall))
    return {
        "labels": [w.isoformat() for w in labels],
        "overall": [overall[w] for w in labels],
        "departments": {
            name: [weeks_.get(w, 0) for w in labels] for name, weeks_ in sorted(by_department.items())
        },
    }


# --- observed skills ------------------------------------------------------------------------------


@reads_replica
def awaiting_signoff(viewer) -> list[dict]:
    """Enrollments of the viewer's staff with required skills not yet signed off. 3 queries."""
    from courses.models import RequiredSkill, SkillSignoff

    enrollments = list(
        Enrollment.objects.filter(
            enrollment_in_window(record_window(viewer)),
            user__in=visible_staff(viewer).filter(is_active=True).exclude(pk=viewer.pk),
            status__in=[Enrollment.Status.NOT_STARTED, Enrollment.Status.IN_PROGRESS],
            signoffs_total__gt=F("signoffs_done"),
        )
        .select_related("user", "user__department", "course")
        .order_by("user__last_name", "user__first_name")[:500]
    )
    skills = defaultdict(list)
    for skill in RequiredSkill.objects.filter(version_id__in={e.version_id for e in enrollments}):
        skills[skill.version_id].append(skill)
    done = set(
        SkillSignoff.objects.filter(enrollment__in=enrollments).values_list("enrollment_id", "skill_id")
    )
    return [
        {
            "enrollment": e,
            "skills": [(s, (e.pk, s.pk) in done) for s in skills[e.version_id]],
            "ready_otherwise": e.lessons_read >= e.lessons_total and e.quizzes_passed >= e.quizzes_total,
        }
        for e in enrollments
    ]


# --- a supervisor's home: what needs doing ---------------------------------------------------------

EXPIRY_WARNING_DAYS = 30
ACTION_ROWS = 200  # rows fetched per action item; the home shows the first few and the count


@dataclass
class ActionItems:
    signoffs: list  # open enrollments where only the skill observation is missing
    overdue: list  # open enrollments past due, most overdue first
    failing: list  # open enrollments with a failed quiz not passed since, this cycle
    expiring: list  # certificates expiring in the next EXPIRY_WARNING_DAYS days, not yet renewed
    today: date
    limit: int = ACTION_ROWS

    @property
    def total(self) -> int:
        return len(self.signoffs) + len(self.overdue) + len(self.failing) + len(self.expiring)


def team_action_items(viewer) -> ActionItems:
    """A supervisor's action items over their active staff: skills waiting for sign-off, overdue
    people, people failing a quiz, certificates expiring within 30 days. 4 queries whatever the number
    of staff (each list is capped at ACTION_ROWS)."""
    from courses.models import Certificate

    today = timezone.localdate()  # due dates and expiry dates are local dates of the organisation
    staff = visible_staff(viewer).filter(is_active=True).exclude(pk=viewer.pk)
    open_enrollments = Enrollment.objects.filter(
        user__in=staff, status__in=selectors.OPEN_STATUSES
    ).select_related("user", "user__department", "course")
    # Waiting for the supervisor: every lesson read and every quiz passed, only the observation missing.
    signoffs = list(
        open_enrollments.filter(
            signoffs_total__gt=F("signoffs_done"),
            lessons_read__gte=F("lessons_total"),
            quizzes_passed__gte=F("quizzes_total"),
        ).order_by("user__last_name", "user__first_name")[:ACTION_ROWS]
    )
    overdue = list(
        open_enrollments.filter(selectors.overdue_filter(today)).order_by("due_date", "user__last_name")[
            :ACTION_ROWS
        ]
    )
    for enrollment in overdue:
        enrollment.days_overdue = selectors.days_overdue(enrollment, today)
    # A failed attempt in this cycle on a quiz of the enrollment's version, with no pass since.
    passed_later = Attempt.objects.filter(
        user_id=OuterRef("user_id"), quiz_id=OuterRef("quiz_id"), passed=True, number__gt=OuterRef("number")
    )
    unresolved_failure = (
        Attempt.objects.filter(
            user_id=OuterRef("user_id"),
            state=AttemptState.SUBMITTED,
            passed=False,
            started_at__gte=OuterRef("enrolled_at"),
        )
        .filter(
            Q(quiz__modules__version_id=OuterRef("version_id"))
            | Q(quiz_id=OuterRef("version__final_exam_id"))
        )
        .exclude(Exists(passed_later))
    )
    failing = list(
        open_enrollments.annotate(
            failed_quiz=Subquery(unresolved_failure.order_by("-submitted_at").values("quiz__title")[:1])
        )
        .filter(failed_quiz__isnull=False)
        .order_by("user__last_name", "user__first_name")[:ACTION_ROWS]
    )
    expiring = list(
        Certificate.objects.filter(
            user__in=staff,
            revoked_at__isnull=True,
            expires_on__gte=today,
            expires_on__lte=today + timedelta(days=EXPIRY_WARNING_DAYS),
            renewed_by__isnull=True,
        )
        .select_related("user", "user__department")
        .order_by("expires_on", "user__last_name")[:ACTION_ROWS]
    )
    for certificate in expiring:
        certificate.days_left = (certificate.expires_on - today).days
    return ActionItems(signoffs=signoffs, overdue=overdue, failing=failing, expiring=expiring, today=today)


# --- quizzes with statistics -------------------------------------------------------------------------


@dataclass
class ReportQuiz:
    quiz: Quiz
    course_title: str
    version_number: int
    is_final: bool


def report_quizzes() -> list[ReportQuiz]:
    """Every module quiz and final exam of every course version, course by course, newest version
    first, the final exam after the modules. 2 queries."""
    rows = [
        ReportQuiz(m.quiz, m.version.course.title, m.version.number, False)
        for m in Module.objects.select_related("quiz", "version__course").order_by(
            "version__course__title", "-version__number", "position"
        )
    ]
    finals = CourseVersion.objects.filter(final_exam__isnull=False).select_related("final_exam", "course")
    rows += [ReportQuiz(v.final_exam, v.course.title, v.number, True) for v in finals]
    return sorted(rows, key=lambda r: (r.course_title, -r.version_number, r.is_final))
