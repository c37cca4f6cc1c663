"""CSV exports: matrix, overdue list, raw attempts and answers. Rows stream from the database in
chunks into a file (constant memory), progress is stored on the ExportJob for the page to poll, and
every cell that a spreadsheet would run as a formula is neutralised."""

import csv
import io
import logging
import tempfile
from collections.abc import Iterator

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from core.queue import enqueue_after_commit
from courses import scope as course_scope
from courses.enrollment import selectors as enrollment_selectors
from courses.errors import CourseError
from courses.models import Course, ExportJob
from courses.reports import selectors as reports
from quizzes.models import Answer

logger = logging.getLogger(__name__)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PROGRESS_EVERY = 1000
KINDS = {"matrix": "Team progress matrix", "overdue": "Overdue list", "answers": "Raw attempts and answers"}


def neutralise(value) -> str:
    """Text a spreadsheet shows as text: a leading formula character gets a single quote in front."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_lines(rows: Iterator[list]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([neutralise(v) for v in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)


def _matrix_rows(viewer, params) -> tuple[int, Iterator[list]]:
    filters = reports.parse_filters(params, courses=list(Course.objects.order_by("title")))
    first = reports.team_matrix(viewer, filters, page=1, per_page=500)

    def rows():
        yield [
            "Employee id",
            "Name",
            "Department",
            "Supervisor",
            "Course status",
            "Due date",
            "Progress %",
            *[title for _, title in first.columns],
            "Skills signed",
            "Completed on",
            "Certificate number",
            "Certificate expires",
        ]
        page = first
        while True:
            for row in page.rows:
                e = row.enrollment
                yield [
                    row.person.employee_id,
                    row.person.get_full_name() or row.person.username,
                    row.person.department.name if row.person.department else "",
                    str(row.person.supervisor) if row.person.supervisor else "",
                    ("overdue" if row.overdue else e.status) if e else "not assigned",
                    e.due_date.isoformat() if e and e.due_date else "",
                    e.progress_percent if e else "",
                    *[row.cells.get(key, "") for key, _ in first.columns],
                    f"{e.signoffs_done} of {e.signoffs_total}" if e and e.signoffs_total else "",
                    timezone.localdate(e.completed_at).isoformat() if e and e.completed_at else "",
                    row.certificate.number if row.certificate else "",
                    row.certificate.expires_on.isoformat()
                    if row.certificate and row.certificate.expires_on
                    else "",
                ]
            if page.page >= page.pages:
                break
            page = reports.team_matrix(viewer, filters, page=page.page + 1, per_page=500)

    return first.total, rows()


def _overdue_rows(viewer, params) -> tuple[int, Iterator[list]]:
    qs = reports.overdue_enrollments(viewer)
    today = timezone.localdate()

    def rows():
        yield [
            "Employee id",
            "Name",
            "Department",
            "Supervisor",
            "Course",
            "Due date",
            "Days overdue",
            "Progress %",
            "Last activity",
            "Last reminder",
        ]
        for e in qs.iterator(chunk_size=2000):
            yield [
                e.user.employee_id,
                e.user.get_full_name() or e.user.username,
                e.user.department.name if e.user.department else "",
                str(e.user.supervisor or ""),
                e.course.title,
                e.due_date.isoformat(),
                enrollment_selectors.days_overdue(e, today),
                e.progress_percent,
                e.last_activity_at.isoformat() if e.last_activity_at else "",
                e.last_reminder_at.isoformat() if e.last_reminder_at else "",
            ]

    return qs.count(), rows()


def _answer_rows(viewer, params) -> tuple[int, Iterator[list]]:
    if not course_scope.can_see_answers(viewer):
        return 0, iter([["Not permitted"]])
    qs = Answer.objects.filter(attempt__user__in=course_scope.visible_staff(viewer)).order_by(
        "attempt_id", "question_id"
    )
    columns = (
        "attempt__user__employee_id",
        "attempt__user__username",
        "attempt__quiz__title",
        "attempt__number",
        "attempt__started_at",
        "attempt__submitted_at",
        "attempt__score",
        "attempt__passed",
        "question__key",
        "question__version",
        "question__objective",
        "response",
        "points",
        "reason",
        "saved_at",
    )

    def rows():
        yield [
            "Employee id",
            "Username",
            "Quiz",
            "Attempt",
            "Started",
            "Submitted",
            "Score %",
            "Passed",
            "Question",
            "Question version",
            "Objective",
            "Response",
            "Points",
            "Reason",
            "Saved at",
        ]
        yield from qs.values_list(*columns).iterator(chunk_size=5000)

    return qs.count(), rows()


BUILDERS = {"matrix": _matrix_rows, "overdue": _overdue_rows, "answers": _answer_rows}


class ExportRefused(CourseError):
    """An unknown export, or one the person may not have: answered like a missing page."""

    http_status = 404
    code = "not_found"


@transaction.atomic
def request_export(*, requested_by, kind: str, params: dict) -> ExportJob:
    if kind not in BUILDERS or not course_scope.can_view_reports(requested_by):
        raise ExportRefused("No such export.")
    if kind == "answers" and not course_scope.can_see_answers(requested_by):
        raise ExportRefused("No such export.")  # surveyors never see answers
    allowed = {
        k: str(v)[:100]
        for k, v in params.items()
        if k in ("course", "department", "role", "supervisor", "status", "q", "sort")
    }
    job = ExportJob.objects.create(
        kind=kind, params=allowed, requested_by=requested_by, created_at=timezone.now()
    )

    def mark_failed(exc: Exception) -> None:
        ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.FAILED, error=str(exc)[:500])

    enqueue_after_commit("courses.tasks.run_export", job.pk, on_failure=mark_failed)
    return job


def run_export(*, job_id: int) -> int:
    """Write the CSV to a temporary file row by row, report progress, then store it. Idempotent: a job
    already done is left alone."""
    job = ExportJob.objects.select_related("requested_by").get(pk=job_id)
    if job.status == ExportJob.Status.DONE:
        return job.rows_done
    total, rows = BUILDERS[job.kind](job.requested_by, job.params)
    ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.RUNNING, rows_total=total, rows_done=0)
    done = 0
    try:
        with tempfile.TemporaryFile(mode="w+b") as handle:
            handle.write("\ufeff".encode())  # Excel opens UTF-8 CSV correctly with a BOM
            for line in csv_lines(rows):
                handle.write(line.encode())
                done += 1
                if done % PROGRESS_EVERY == 0:
                    ExportJob.objects.filter(pk=job.pk).update(rows_done=done - 1)
            handle.seek(0)
            job.file.save(f"{job.kind}-{timezone.localdate():%Y%m%d}-{job.pk}.csv", File(handle), save=False)
    except Exception as exc:
        ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.FAILED, error=str(exc)[:500])
        raise
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportJob.Status.DONE,
        file=job.file.name,
        rows_done=max(0, done - 1),
        finished_at=timezone.now(),
    )
    return done - 1
