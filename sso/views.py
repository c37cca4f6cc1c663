"""Single sign-on pages: /accounts/sso/login/ sends the browser to the provider (authorization code
flow with PKCE, a fresh state and nonce kept in the session); /accounts/sso/callback/ checks the state,
lets the backend exchange the code and verify the ID token, then logs the person in. Every refusal is
a page that says why (403) and an audit event."""

import time

from django.conf import settings
from django.contrib import auth
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

from accounts import mfa

from . import provider, services
from .services import SignInRefused

STATE_MAX_AGE_SECONDS = 15 * 60
AGAIN = "Start the sign-in again from the login page."


def _refused(request, refusal: SignInRefused):
    services.record_refusal(refusal, issuer=getattr(settings, "OIDC_ISSUER", ""))
    return render(request, "sso/refused.html", {"message": refusal.message}, status=403)


class StartView(OIDCAuthenticationRequestView):
    def __init__(self, *args, **kwargs):
        # The library reads the authorization endpoint from settings here; ours comes from discovery.
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID

    def get(self, request):
        if not provider.is_configured():
            raise Http404("Single sign-on is not configured.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider.metadata().authorization_endpoint
        except provider.ProviderUnavailable as exc:
            return _refused(request, SignInRefused("provider_unavailable", f"{exc} Try again later."))
        return super().get(request)


def callback(request):
    if not provider.is_configured():
        raise Http404("Single sign-on is not configured.")
    try:
        return _complete_sign_in(request)
    except SignInRefused as refusal:
        return _refused(request, refusal)


def _complete_sign_in(request):
    state = request.GET.get("state", "")
    states = request.session.get("oidc_states") or {}
    pending = states.pop(state, None) if state else None
    if pending is not None:  # used once: a replayed response finds nothing
        request.session["oidc_states"] = states
        request.session.save()
    if request.GET.get("error"):
        detail = request.GET.get("error_description") or request.GET["error"]
        raise SignInRefused(
            "provider_error", f"The identity provider did not sign you in ({detail}). {AGAIN}"
        )
    if pending is None:
        raise SignInRefused(
            "state_not_recognised",
            "This sign-in response is not one this browser is waiting for: it was already used, or it "
            f"was started elsewhere (state not recognised). {AGAIN}",
        )
    if time.time() - pending.get("added_on", 0) > STATE_MAX_AGE_SECONDS:
        raise SignInRefused("state_expired", f"This sign-in took too long and has expired. {AGAIN}")
    if not request.GET.get("code"):
        raise SignInRefused("no_code", f"The identity provider sent no authorization code. {AGAIN}")
    user = auth.authenticate(
        request=request, sso_callback=True, nonce=pending["nonce"], code_verifier=pending["code_verifier"]
    )
    if user is None or not user.is_active:
        raise SignInRefused("not_signed_in", f"The sign-in could not be completed. {AGAIN}")
    next_url = request.session.get("oidc_login_next")
    auth.login(request, user)
    if mfa.provider_did_multi_factor(getattr(request, "sso_claims", {}).get("amr")):
        mfa.mark_verified_by_identity_provider(request)
    return HttpResponseRedirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))
