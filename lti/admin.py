"""Platforms are registered here (issuer, client id, deployment ids, the platform's URLs); everything
else is read-only: keys rotate by `manage.py rotate_lti_keys`, launches and scores are made by the
services."""

from django import forms
from django.contrib import admin
from django.db import models
from django.urls import reverse
from django.utils.html import format_html

from . import keys, services
from .models import Platform, PlatformUser, ResourceLink, ScoreSubmission, ToolKey


def _https_urls(field, **kwargs):
    if isinstance(field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return field.formfield(**kwargs)


class PlatformForm(forms.ModelForm):
    deployment_ids = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One deployment id per line, as the LMS shows it (Moodle: the tool's 'Deployment ID'; "
        "Canvas: the deployment id on the developer key's app).",
    )

    class Meta:
        model = Platform
        formfield_callback = _https_urls
        fields = [
            "name",
            "issuer",
            "client_id",
            "deployment_ids",
            "auth_login_url",
            "auth_token_url",
            "jwks_url",
            "auth_audience",
            "is_active",
            "match_by_email",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["deployment_ids"] = "\n".join(
                self.instance.deployments.filter(is_active=True).values_list("deployment_id", flat=True)
            )


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Platform)
class PlatformAdmin(admin.ModelAdmin):
    form = PlatformForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ("name", "issuer", "client_id", "is_active")
    readonly_fields = ("tool_urls",)

    def get_fields(self, request, obj=None):
        return [*PlatformForm.Meta.fields, "tool_urls"]

    @admin.display(description="What to enter in the LMS")
    def tool_urls(self, obj):
        def url(name):
            return self._request.build_absolute_uri(reverse(name))

        return format_html(
            "Login initiation URL: <code>{}</code><br>Redirect / launch URL: <code>{}</code><br>"
            "Deep linking URL: <code>{}</code><br>Public keyset URL: <code>{}</code>",
            url("lti:login_initiation"),
            url("lti:launch"),
            url("lti:launch"),
            url("lti:jwks"),
        )

    def get_form(self, request, obj=None, **kwargs):
        self._request = request
        return super().get_form(request, obj, **kwargs)

    def save_model(self, request, obj, form, change):
        services.save_platform(
            platform=obj, deployment_ids=form.cleaned_data["deployment_ids"].splitlines(), actor=request.user
        )

    def has_delete_permission(self, request, obj=None):
        return False  # switch a platform off instead: its links and scores stay readable


@admin.register(ToolKey)
class ToolKeyAdmin(_ReadOnly):
    list_display = ("kid", "created_at", "retired_at", "published_until")
    fields = ("kid", "created_at", "retired_at", "published_until", "public_key_pem")
    actions = ["rotate"]

    @admin.action(description="Rotate the tool's signing key now (the old one stays published for an hour)")
    def rotate(self, request, queryset):
        key = keys.rotate_keys(actor=request.user)
        self.message_user(request, f"New signing key {key.kid}; recorded in the audit log.")


@admin.register(ResourceLink)
class ResourceLinkAdmin(_ReadOnly):
    list_display = ("title", "platform", "context_title", "course", "quiz_key", "roster")
    list_filter = ("platform",)
    exclude = ("learners",)

    @admin.display(description="Roster")
    def roster(self, obj):
        if not obj.memberships_url:
            return "—"
        return format_html('<a href="{}">LMS roster</a>', reverse("lti:roster", args=[obj.pk]))


@admin.register(ScoreSubmission)
class ScoreSubmissionAdmin(_ReadOnly):
    list_display = ("learner", "link", "score_given", "score_maximum", "timestamp", "status", "tries")
    list_filter = ("status",)


@admin.register(PlatformUser)
class PlatformUserAdmin(admin.ModelAdmin):
    """Link a platform's user (its 'sub' in one deployment) to an account by hand; audited."""

    list_display = ("sub", "platform", "deployment_id", "user", "email", "last_launch_at")
    list_filter = ("platform",)
    search_fields = ("sub", "email", "user__username")
    fields = ("platform", "deployment_id", "sub", "user")
    raw_id_fields = ("user",)

    def has_change_permission(self, request, obj=None):
        return obj is None  # a link is made, not edited: delete is not offered either

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        saved = services.link_platform_user(
            platform=obj.platform,
            deployment_id=obj.deployment_id,
            sub=obj.sub,
            user=obj.user,
            actor=request.user,
        )
        obj.pk = saved.pk
