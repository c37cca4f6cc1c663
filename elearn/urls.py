from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import BasePermission

from accounts.forms import ThrottledAdminAuthenticationForm
from accounts.views import ThrottledLoginView
from core import health
from courses.certificates import verify_views


class SchemaAccess(BasePermission):
    """The schema and docs need a login (session or token) unless API_DOCS_PUBLIC opens them."""

    def has_permission(self, request, view):
        return settings.API_DOCS_PUBLIC or bool(request.user and request.user.is_authenticated)


def docs_view(request, *args, **kwargs):
    # A browser without a login goes to the login page, not a JSON 403. The split view serves Swagger
    # UI's start-up script as a file, so the page needs no inline script (Content-Security-Policy).
    if not (settings.API_DOCS_PUBLIC or request.user.is_authenticated):
        return redirect_to_login(request.get_full_path())
    return _swagger(request, *args, **kwargs)


_swagger = SpectacularSwaggerSplitView.as_view(url_name="schema", permission_classes=[SchemaAccess])

handler404 = "core.error_pages.not_found"
handler500 = "core.error_pages.server_error"
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # The API first: Django's resolver tries the patterns in order (and records each one it tried), and
    # the autosave and submit are the busiest requests; no other prefix overlaps "api/v1/".
    path("api/v1/", include("elearn.api_urls")),
    # The learner's pages next (the attempt page's autosave); no other prefix overlaps their paths.
    path("", include("frontend.urls")),
    path("admin/", admin.site.urls),
    path("verify/", verify_views.verify_page, name="verify_form"),
    path("verify/<str:code>/", verify_views.verify_page, name="verify_certificate"),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/sso/", include("sso.urls")),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[SchemaAccess]), name="schema"),
    path("api/docs/", docs_view, name="api-docs"),
    path("lti/", include("lti.urls")),
    path("authoring/", include("authoring.urls")),
]
# MEDIA_URL is deliberately not served, not even with DEBUG: uploads go through permission-checked views.
