from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Staff and roles"

    def ready(self):
        # Login signal receivers: the session's start time, and whether the person has a second factor.
        from . import mfa, sessions  # noqa: F401
