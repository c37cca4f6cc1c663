from django.contrib.auth.views import LoginView
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt

from .faults import TokenWithFaultsView

urlpatterns = [
    path("accounts/login/", LoginView.as_view(), name="login"),
    re_path(r"^openid/token/?$", csrf_exempt(TokenWithFaultsView.as_view())),
    path("openid/", include("oidc_provider.urls", namespace="oidc_provider")),
]
