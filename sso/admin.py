from django.contrib import admin

from .models import SSOIdentity


@admin.register(SSOIdentity)
class SSOIdentityAdmin(admin.ModelAdmin):
    """Read-only: links are made by sign-ins (sso.services.sign_in), never by hand."""

    list_display = ("user", "issuer", "subject", "linked_at", "last_sign_in_at")
    search_fields = ("user__username", "user__employee_id", "subject")
    list_select_related = ("user",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
