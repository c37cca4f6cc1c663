from django.contrib import admin

from .models import OutboxStatement


@admin.register(OutboxStatement)
class OutboxStatementAdmin(admin.ModelAdmin):
    """Read-only: what waits, what the LRS took and what it refused (with its answer)."""

    list_display = ("created_at", "verb", "status", "send_attempts", "error")
    list_filter = ("status", "verb")
    search_fields = ("statement_id",)

    @admin.display(description="last error")
    def error(self, obj) -> str:
        return obj.last_error[:60]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
