from django.urls import include, path

from accounts.api import LogoutView, ObtainTokenView

app_name = "api"

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="auth-token"),
    path("auth/logout/", LogoutView.as_view(), name="auth-logout"),
    path("", include("courses.urls")),
]
