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
