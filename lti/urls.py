from django.urls import path

from . import views

app_name = "lti"

# No view here is named like an account view ("login", "logout"): the read-only rule for surveyors
# (accounts.access.refuses_write) lets those through by name.

urlpatterns = [
    path("login/", views.login_initiation, name="login_initiation"),
    path("launch/", views.launch, name="launch"),
    path("jwks/", views.jwks, name="jwks"),
    path("deep-link/", views.deep_link_choose, name="deep_link"),
    path("links/<int:link_id>/roster/", views.roster, name="roster"),
]
