"""Admin for courses. Content is read-only (the files are the source of truth); certificates can be
revoked or reissued with a reason; people can be enrolled in bulk."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect, render
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.admin import UserAdmin
from accounts.models import User
from courses.certificates import selectors
from courses.certificates import services as certificates
from courses.enrollment import services
from courses.models import Certificate, Course, CourseEvaluation, CourseVersion, Enrollment, Lesson, Module


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Course)
class CourseAdmin(ReadOnlyAdmin):
    list_display = ("title", "slug", "ce_hours", "validity_months", "open_enrollment", "evaluations_link")

    @admin.display(description="Evaluations")
    def evaluations_link(self, obj):
        url = reverse("admin:courses_course_evaluations", args=[obj.pk])
        return format_html('<a href="{}">Evaluation summary</a>', url)

    def get_urls(self):
        return [
            path(
                "<int:course_id>/evaluations/",
                self.admin_site.admin_view(self.evaluations_view),
                name="courses_course_evaluations",
            ),
        ] + super().get_urls()

    def evaluations_view(self, request, course_id):
        course = get_object_or_404(Course, pk=course_id)
        context = {
            **self.admin_site.each_context(request),
            "course": course,
            "title": f"Evaluations: {course}",
            "summary": selectors.evaluation_summary(course=course),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/courses/evaluation_summary.html", context)


@admin.register(CourseVersion)
class CourseVersionAdmin(ReadOnlyAdmin):
    list_display = ("course", "number", "status", "medical_reviewer", "medical_review_date", "loaded_at")
    list_filter = ("status", "course")


@admin.register(Module)
class ModuleAdmin(ReadOnlyAdmin):
    list_display = ("title", "version", "position", "quiz")


@admin.register(Lesson)
class LessonAdmin(ReadOnlyAdmin):
    list_display = ("title", "key", "module", "position", "minutes")
    search_fields = ("title", "key")


@admin.register(Enrollment)
class EnrollmentAdmin(ReadOnlyAdmin):
    list_display = (
        "user",
        "course",
        "cycle",
        "status",
        "progress_percent",
        "due_date",
        "source",
        "completed_at",
    )
    list_filter = ("status", "course", "source")
    search_fields = ("user__username", "user__last_name")
    list_select_related = ("user", "course")


@admin.register(CourseEvaluation)
class CourseEvaluationAdmin(ReadOnlyAdmin):
    list_display = ("enrollment", "submitted_at")


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, strip=True)


@admin.register(Certificate)
class CertificateAdmin(ReadOnlyAdmin):
    list_display = ("number", "learner_name", "course_title", "completed_on", "expires_on", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("number", "learner_name")
    actions = ["revoke_selected", "reissue_selected"]

    def _with_reason(self, request, queryset, *, verb: str, service):
        if "apply" in request.POST:
            form = ReasonForm(request.POST)
            if form.is_valid():
                done = 0
                for certificate in queryset:
                    try:
                        service(
                            certificate_id=certificate.pk, by=request.user, reason=form.cleaned_data["reason"]
                        )
                        done += 1
                    except certificates.CertificateError as error:
                        self.message_user(request, f"{certificate}: {error.message}", messages.ERROR)
                self.message_user(request, f"{verb.capitalize()}d {done} certificate(s).", messages.SUCCESS)
                return None
        else:
            form = ReasonForm()
        return render(
            request,
            "admin/courses/certificate_reason.html",
            {
                **self.admin_site.each_context(request),
                "form": form,
                "certificates": queryset,
                "verb": verb,
                "action": request.POST.get("action"),
                "opts": self.model._meta,
                "title": f"{verb.capitalize()} certificates",
            },
        )

    @admin.action(description="Revoke selected certificates (asks for a reason)")
    def revoke_selected(self, request, queryset):
        return self._with_reason(request, queryset, verb="revoke", service=certificates.revoke_certificate)

    @admin.action(description="Reissue selected certificates (revoke and issue a replacement)")
    def reissue_selected(self, request, queryset):
        return self._with_reason(request, queryset, verb="reissue", service=certificates.reissue_certificate)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser  # needed for actions; fields stay read-only

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


class BulkEnrollForm(forms.Form):
    course = forms.ModelChoiceField(queryset=Course.objects.all())
    due_date = forms.DateField(required=False, help_text="YYYY-MM-DD, a local date")


def enroll_in_course(modeladmin, request, queryset):
    if "apply" in request.POST:
        form = BulkEnrollForm(request.POST)
        if form.is_valid():
            try:
                result = services.bulk_enroll(
                    users=list(queryset),
                    course=form.cleaned_data["course"],
                    due_date=form.cleaned_data["due_date"],
                )
            except services.CourseError as error:
                modeladmin.message_user(request, error.message, messages.ERROR)
                return redirect(request.get_full_path())
            modeladmin.message_user(
                request,
                f"Enrolled {result['created']}; {result['existing']} were already enrolled.",
                messages.SUCCESS,
            )
            return None
    else:
        form = BulkEnrollForm()
    return render(
        request,
        "admin/courses/bulk_enroll.html",
        {
            **modeladmin.admin_site.each_context(request),
            "form": form,
            "people": queryset,
            "opts": User._meta,
            "title": "Enrol people in a course",
        },
    )


enroll_in_course.short_description = "Enrol selected people in a course…"


# --- onboarding: assignment rules, staff import, notifications -------------------------------------

from django.contrib.auth import get_user_model  # noqa: E402

from courses.assignments import services as assignments  # noqa: E402
from courses.models import AssignmentRule, Notification  # noqa: E402


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "course",
        "audience",
        "department",
        "job_title",
        "due_days",
        "recurrence_months",
        "active",
    )
    list_filter = ("active", "course", "audience")

    def save_model(self, request, obj, form, change):
        assignments.save_assignment_rule(rule=obj, actor=request.user)

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: the history of who was required stays explainable


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("kind", "recipient", "enrollment", "status", "attempts", "created_at", "sent_at")
    list_filter = ("status", "kind")
    list_select_related = ("recipient", "enrollment__user", "enrollment__course")


class StaffImportForm(forms.Form):
    csv_file = forms.FileField(
        help_text="employee_id, first_name, last_name, email, role, department, "
        "supervisor_employee_id, hire_date (YYYY-MM-DD); optional job_title, "
        "licence_number"
    )


class StaffAdmin(UserAdmin):
    """People, as the course layer extends the accounts admin (a subclass registered in its place,
    nothing of accounts.admin patched): saving a record runs the assignment engine for that person,
    the staff CSV import, and the bulk enrolment action."""

    actions = [*UserAdmin.actions, enroll_in_course]

    change_list_template = "admin/accounts/user/change_list_with_import.html"

    def save_model(self, request, obj, form, change):
        role_before = form.initial.get("role") if change else None
        super().save_model(request, obj, form, change)
        assignments.staff_record_changed(user=obj, actor=request.user, role_before=role_before)

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="accounts_user_import")
        ] + (super().get_urls())

    def import_view(self, request):
        report = None
        text = request.session.get("staff_import_text")
        if request.method == "POST" and "commit" in request.POST and text:
            report = assignments.import_staff(text=text, commit=True, actor=request.user)
            if report.committed:
                request.session.pop("staff_import_text", None)
                self.message_user(
                    request, "Imported: {create} created, {update} updated.".format(**report.counts)
                )
                return redirect("admin:accounts_user_changelist")
            form = StaffImportForm()
        elif request.method == "POST":
            form = StaffImportForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    text = form.cleaned_data["csv_file"].read().decode("utf-8-sig")
                except UnicodeDecodeError:
                    form.add_error("csv_file", "The file is not UTF-8 text.")
                else:
                    report = assignments.import_staff(text=text, commit=False)
                    request.session["staff_import_text"] = text if report.ok else None
        else:
            form = StaffImportForm()
        return TemplateResponse(
            request,
            "admin/accounts/user/import.html",
            {
                **self.admin_site.each_context(request),
                "form": form,
                "report": report,
                "opts": self.model._meta,
                "title": "Import staff from CSV",
            },
        )


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), StaffAdmin)
