"""Login forms with failed-login throttling (accounts.login_throttle), for the site and the admin."""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from . import login_throttle


class ThrottledLoginMixin:
    """Refuse before checking the password while the username is at its failure limit; count every
    failed password check."""

    throttled = False  # set when this form refused the login for the failure limit (the view answers 429)

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        if self.request is not None and login_throttle.is_blocked(username=username, request=self.request):
            self.throttled = True
            raise ValidationError(login_throttle.MESSAGE, code="throttled")
        try:
            return super().clean()
        except ValidationError as error:
            if self.request is not None and getattr(error, "code", None) == "invalid_login":
                login_throttle.record_failure(username=username, request=self.request)
            raise


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Your username and password didn't match. Please try again.",
    }


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass
