from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import Department, User


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("name", "code")
    search_fields = ("name", "code")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "first_name", "last_name", "role", "department", "job_title", "is_active")
    list_filter = ("role", "department", "is_active")
    search_fields = ("username", "first_name", "last_name", "email", "employee_id")
    list_select_related = ("department",)
    autocomplete_fields = ("supervisor",)
    fieldsets = DjangoUserAdmin.fieldsets + (
        (
            "Staff record",
            {
                "fields": (
                    "role",
                    "department",
                    "supervisor",
                    "job_title",
                    "hire_date",
                    "employee_id",
                    "licence_number",
                )
            },
        ),
    )


from .models import SurveyorScope  # noqa: E402


@admin.register(SurveyorScope)
class SurveyorScopeAdmin(admin.ModelAdmin):
    list_display = ("user", "records_from", "records_to", "expires_at")
    filter_horizontal = ("departments",)

    def save_related(self, request, form, formsets, change):
        from . import services

        super().save_related(request, form, formsets, change)
        scope = form.instance
        services.grant_surveyor_access(
            user=scope.user,
            departments=list(scope.departments.all()),
            records_from=scope.records_from,
            records_to=scope.records_to,
            expires_at=scope.expires_at,
            by=request.user,
        )
