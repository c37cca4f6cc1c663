from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from . import services
from .models import Department, User


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("name", "code")
    search_fields = ("name", "code")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "first_name", "last_name", "role", "department", "job_title", "is_active")
    list_filter = ("role", "department", "is_active", "service_account")
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
                    "service_account",
                )
            },
        ),
    )

    def save_model(self, request, obj, form, change):
        # Unticking "active" is a person leaving: the service revokes their tokens and audits it.
        deactivating = change and "is_active" in form.changed_data and not obj.is_active
        if deactivating:
            obj.is_active = True
        super().save_model(request, obj, form, change)
        if deactivating:
            services.deactivate_user(user=obj, by=request.user)


@admin.action(description="Deactivate the selected people (they leave; their records stay)")
def deactivate_people(modeladmin, request, queryset):
    for user in queryset.filter(is_active=True):
        services.deactivate_user(user=user, by=request.user)
    modeladmin.message_user(request, "Deactivated and recorded in the audit log.")


from .models import SurveyorScope  # noqa: E402


@admin.register(SurveyorScope)
class SurveyorScopeAdmin(admin.ModelAdmin):
    list_display = ("user", "records_from", "records_to", "expires_at")
    filter_horizontal = ("departments",)

    def save_related(self, request, form, formsets, change):
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


from knox.models import AuthToken  # noqa: E402

from .tokens import revoke_tokens  # noqa: E402


@admin.action(description="Revoke all API tokens of the selected people")
def revoke_api_tokens(modeladmin, request, queryset):
    revoked = sum(revoke_tokens(user=user, reason="admin", by=request.user) for user in queryset)
    modeladmin.message_user(request, f"{revoked} API token(s) revoked.")


UserAdmin.actions = [*(UserAdmin.actions or ()), deactivate_people, revoke_api_tokens]

# knox's own admin can mint a token for anyone (shown once on screen): an admin could act as any person
# through the API. Here tokens are only listed and revoked (audited).
if admin.site.is_registered(AuthToken):
    admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class AuthTokenAdmin(admin.ModelAdmin):
    list_display = ("token_key", "user", "created", "expiry")
    list_select_related = ("user",)
    search_fields = ("token_key", "user__username")
    fields = ("token_key", "user", "created", "expiry")
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # revocation goes through the audited action below

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        revoked = sum(
            revoke_tokens(user=token.user, token=token, reason="admin", by=request.user) for token in queryset
        )
        self.message_user(request, f"{revoked} API token(s) revoked.")
