from django.contrib.auth.views import LoginView

from . import login_throttle
from .forms import ThrottledAuthenticationForm


class ThrottledLoginView(LoginView):
    """Django's login view (safe `next` handling included) with failed-login throttling: a throttled
    login answers 429 with Retry-After and the reason on the page."""

    authentication_form = ThrottledAuthenticationForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.throttled:
            response.status_code = 429
            response["Retry-After"] = str(login_throttle.RETRY_AFTER_SECONDS)
        return response
