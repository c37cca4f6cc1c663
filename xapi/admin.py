from django.contrib import admin

from .models import OutboxStatement


@admin.register(OutboxStatement)
class OutboxStatementAdmin(admin.ModelAdmin):
    """Read-only: what waits, what the LRS took and what it refused (with its answer)."""

    list_display = ("pk", "created_at", "verb", "user_id", "status", "send_attempts", "sent_at")
    list_filter = ("status", "verb")
    search_fields = ("statement_id",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
