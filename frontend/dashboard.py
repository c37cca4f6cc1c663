"""Supervisor and admin pages: team matrix, overdue list, person drill-down, quiz statistics,
completion over time, overrides and exports. Thin: reports selectors read, services write."""

from datetime import date
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.access import is_self_grant, read_only_allowed
from accounts.models import Department, Role
from courses import scope as course_scope
from courses.assignments import overrides, reminders
from courses.catalog import selectors as catalog_selectors
from courses.enrollment import selectors as course_selectors
from courses.enrollment import services as course_services
from courses.evidence import selectors as evidence_selectors
from courses.models import Course, ExportJob
from courses.reports import exports
from courses.reports import selectors as reports
from quizzes.models import Quiz, QuizOverride


def reports_required(view):
    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not course_scope.can_view_reports(request.user):
            raise Http404("No such page.")
        return view(request, *args, **kwargs)

    return wrapper


def _filter_context(request):
    courses = list(Course.objects.order_by("title"))
    filters = reports.parse_filters(request.GET, courses=courses)
    return courses, filters


@require_GET
@reports_required
def team(request):
    courses, filters = _filter_context(request)
    try:
        page = int(request.GET.get("page", "1"))
    except ValueError:
        page = 1
    matrix = reports.team_matrix(request.user, filters, page=page)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "frontend/team/matrix.html",
        {
            "matrix": matrix,
            "filters": filters,
            "courses": courses,
            "query": query.urlencode(),
            "departments": Department.objects.all(),
            "roles": Role.choices,
            "statuses": reports.STATUSES,
            "sorts": [
                ("name", "Name A–Z"),
                ("-name", "Name Z–A"),
                ("department", "Department"),
                ("due", "Due date"),
                ("-progress", "Most progress"),
                ("progress", "Least progress"),
            ],
        },
    )


@require_GET
@reports_required
def overdue(request):
    courses, filters = _filter_context(request)
    rows = list(
        reports.overdue_enrollments(
            request.user,
            course=filters.course if request.GET.get("course") else None,
            department_id=filters.department_id,
        )[:500]
    )
    today = timezone.localdate()  # due dates are local dates of the organisation
    for enrollment in rows:
        enrollment.days_overdue = course_selectors.days_overdue(enrollment, today)
    return render(
        request,
        "frontend/team/overdue.html",
        {
            "rows": rows,
            "today": today,
            "courses": courses,
            "filters": filters,
            "departments": Department.objects.all(),
            "can_remind": course_scope.can_see_answers(request.user),
        },
    )


@require_POST
@reports_required
def send_reminder(request, enrollment_id):
    try:
        reminders.request_reminder(requested_by=request.user, enrollment_id=enrollment_id)
    except reminders.ReminderRefused as error:
        message, ok = error.message, False
    else:
        message, ok = "Reminder queued.", True
    if request.headers.get("HX-Request"):
        return render(request, "frontend/team/partials/reminder_status.html", {"ok": ok, "message": message})
    (messages.success if ok else messages.error)(request, message)
    return redirect("frontend:team_overdue")


@require_GET
@reports_required
def person(request, person_id):
    detail = reports.person_detail(request.user, person_id=person_id)
    if detail is None:
        raise Http404("No such person.")
    quizzes = reports.person_quizzes(person_id=person_id)
    return render(
        request,
        "frontend/team/person.html",
        {
            **detail,
            "can_see_answers": course_scope.can_see_answers(request.user),
            # (the form is hidden on one's own page; the service refuses and audits a forged POST)
            "can_override": course_scope.can_grant_overrides(request.user)
            and not is_self_grant(actor=request.user, subject_id=person_id),
            "quizzes": quizzes,
            "override_kinds": [(str(k), label) for k, label in QuizOverride.Kind.choices]
            + [("due_date_extension", "Due-date extension"), ("exemption", "Exemption")],
        },
    )


@require_POST
@reports_required
def grant_override(request, person_id):
    data = request.POST
    new_due = None
    if data.get("new_due_date"):
        try:
            new_due = date.fromisoformat(data["new_due_date"])
        except ValueError:
            messages.error(request, "The new due date is not a valid date.")
            return redirect("frontend:team_person", person_id=person_id)
    try:
        overrides.grant_override(
            granted_by=request.user,
            person_id=person_id,
            kind=data.get("kind", ""),
            reason=data.get("reason", ""),
            quiz_id=int(data["quiz"]) if data.get("quiz", "").isdigit() else None,
            enrollment_id=int(data["enrollment"]) if data.get("enrollment", "").isdigit() else None,
            value=data.get("value") or None,
            new_due_date=new_due,
        )
    except overrides.OverrideRefused as error:
        detail = "; ".join(f"{k}: {v}" for k, v in error.field_errors.items())
        messages.error(request, f"{error.message} {detail}".strip())
    else:
        messages.success(request, "Override granted and recorded in the audit log.")
    return redirect("frontend:team_person", person_id=person_id)


@require_POST
@reports_required
def close_attempt(request, person_id, attempt_id):
    """Close and grade a person's open attempt (the same after-grading path as a submit)."""
    try:
        outcome = course_services.close_quiz_attempt(
            staff=request.user, attempt_id=attempt_id, reason=request.POST.get("reason", "")
        )
    except course_services.NotEnrolled as error:
        raise Http404("No such attempt.") from error
    except course_services.CloseRefused as error:
        messages.error(request, error.message)
    else:
        if outcome.graded_now:
            messages.success(request, "Attempt closed and graded; recorded in the audit log.")
        else:
            messages.info(request, "This attempt was already graded.")
    return redirect("frontend:team_person", person_id=person_id)


@require_GET
@reports_required
def quiz_list(request):
    if not course_scope.can_see_answers(request.user):
        raise Http404("No such page.")
    return render(request, "frontend/team/quizzes.html", {"quizzes": reports.report_quizzes()})


@require_GET
@reports_required
def quiz_statistics(request, quiz_id):
    if not course_scope.can_see_answers(request.user):
        raise Http404("No such page.")
    quiz = get_object_or_404(Quiz, pk=quiz_id)
    stats = reports.quiz_statistics(request.user, quiz=quiz)
    objective_texts = catalog_selectors.objective_texts(quiz=quiz)
    return render(
        request,
        "frontend/team/quiz_statistics.html",
        {
            "stats": stats,
            "quiz": quiz,
            "objective_texts": objective_texts,
            "histogram": {
                "labels": [f"{i * 10}–{i * 10 + 9 if i < 9 else 100}%" for i in range(10)],
                "counts": stats["histogram"],
            },
        },
    )


@require_GET
@reports_required
def completions(request):
    courses, filters = _filter_context(request)
    data = reports.completions_by_week(
        request.user, course=filters.course if request.GET.get("course") else None
    )
    return render(
        request, "frontend/team/completions.html", {"chart": data, "courses": courses, "filters": filters}
    )


@read_only_allowed  # an export of a report the viewer may already see is a read
@require_POST
@reports_required
def start_export(request, kind):
    # An export the person may not have is refused by the service (ExportRefused: the 404 page).
    job = exports.request_export(requested_by=request.user, kind=kind, params=request.POST.dict())
    return redirect("frontend:team_export", job_id=job.pk)


def _own_job(request, job_id) -> ExportJob:
    job = ExportJob.objects.filter(pk=job_id, requested_by=request.user).first()
    if job is None:
        raise Http404("No such export.")
    return job


@require_GET
@reports_required
def export_status(request, job_id):
    job = _own_job(request, job_id)
    template = (
        "frontend/team/partials/export_progress.html"
        if request.headers.get("HX-Request")
        else ("frontend/team/export.html")
    )
    return render(
        request,
        template,
        {
            "job": job,
            "label": exports.KINDS.get(job.kind, job.kind),
            "poll_url": reverse("frontend:team_export", args=[job.pk]),
        },
    )


@require_GET
@reports_required
def export_download(request, job_id):
    job = _own_job(request, job_id)
    if job.status != ExportJob.Status.DONE or not job.file:
        raise Http404("Not ready.")
    return FileResponse(
        job.file.open("rb"),
        as_attachment=True,
        filename=job.file.name.rsplit("/", 1)[-1],
        content_type="text/csv",
    )


@require_GET
@reports_required
def signoffs(request):
    if not course_scope.can_grant_overrides(request.user):
        raise Http404("No such page.")
    return render(
        request,
        "frontend/team/signoffs.html",
        {"rows": reports.awaiting_signoff(request.user), "today": course_selectors.local_today()},
    )


@require_POST
@reports_required
def sign_off(request, enrollment_id, skill_id):
    from courses.enrollment import services as course_services

    try:
        observed_on = date.fromisoformat(request.POST.get("observed_on", ""))
    except ValueError:
        messages.error(request, "Enter the date the skill was observed.")
        return redirect("frontend:team_signoffs")
    try:
        course_services.sign_off_skill(
            observer=request.user,
            enrollment_id=enrollment_id,
            skill_id=skill_id,
            observed_on=observed_on,
            notes=request.POST.get("notes", ""),
        )
    except course_services.CourseError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Signed off and recorded.")
    return redirect("frontend:team_signoffs")


@read_only_allowed  # requesting a pack of records the surveyor may see is a read
@login_required
def evidence(request):
    from courses.evidence import services as evidence_service

    departments = course_scope.departments_in_scope(request.user)
    if not departments.exists():
        raise Http404("No such page.")
    if request.method == "POST":
        try:
            pack = evidence_service.request_pack(
                requested_by=request.user,
                department_id=int(request.POST.get("department", "0") or 0),
                date_from=date.fromisoformat(request.POST.get("date_from", "")),
                date_to=date.fromisoformat(request.POST.get("date_to", "")),
            )
        except ValueError:
            messages.error(request, "Choose a department and two dates (YYYY-MM-DD).")
        except evidence_service.EvidenceRefused as error:
            messages.error(request, error.message)
        else:
            return redirect("frontend:team_evidence_pack", pack_id=pack.pk)
    packs = evidence_selectors.packs_requested_by(request.user)
    return render(
        request,
        "frontend/team/evidence.html",
        {"departments": departments, "packs": packs, "today": course_selectors.local_today()},
    )


def _own_pack(request, pack_id):

    pack = evidence_selectors.own_pack(request.user, pack_id=pack_id)
    if pack is None:
        raise Http404("No such evidence pack.")
    return pack


@require_GET
@login_required
def evidence_pack(request, pack_id):
    pack = _own_pack(request, pack_id)
    template = (
        "frontend/team/partials/evidence_progress.html"
        if request.headers.get("HX-Request")
        else ("frontend/team/evidence_pack.html")
    )
    return render(
        request, template, {"pack": pack, "poll_url": reverse("frontend:team_evidence_pack", args=[pack.pk])}
    )


@require_GET
@login_required
def evidence_download(request, pack_id):
    pack = _own_pack(request, pack_id)
    if pack.status != pack.Status.DONE or not pack.file:
        raise Http404("Not ready.")
    return FileResponse(
        pack.file.open("rb"),
        as_attachment=True,
        filename=pack.file.name.rsplit("/", 1)[-1],
        content_type="application/zip",
    )
