from django.urls import path

from . import mfa_views

urlpatterns = [
    path("2fa/", mfa_views.manage, name="accounts_mfa"),
    path("2fa/setup/", mfa_views.setup, name="accounts_mfa_setup"),
    path("2fa/verify/", mfa_views.verify, name="accounts_mfa_verify"),
    path("2fa/recovery-codes/", mfa_views.recovery_codes, name="accounts_mfa_recovery_codes"),
]
