"""Drafts in the Django admin: read-only. Every change goes through the authoring pages and services
(optimistic locking, the loader's validation, the audit trail)."""

from django.contrib import admin

from .models import Draft, ReviewComment, ReviewPacket


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Draft)
class DraftAdmin(ReadOnlyAdmin):
    list_display = (
        "slug",
        "status",
        "created_by",
        "created_at",
        "reviewer_name",
        "reviewer_credential",
        "approved_on",
    )
    list_filter = ("status",)
    list_select_related = ("created_by",)
    exclude = ("base_document", "published_document")


@admin.register(ReviewComment)
class ReviewCommentAdmin(ReadOnlyAdmin):
    list_display = ("draft", "item_kind", "item_key", "author", "created_at")
    list_select_related = ("draft", "author")


@admin.register(ReviewPacket)
class ReviewPacketAdmin(ReadOnlyAdmin):
    list_display = ("draft", "status", "requested_by", "created_at", "finished_at")
    list_select_related = ("draft", "requested_by")
