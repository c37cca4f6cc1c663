from django.urls import include, path

from accounts.api import ObtainTokenView

app_name = "api"

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="auth-token"),
    path("", include("courses.urls")),
]
