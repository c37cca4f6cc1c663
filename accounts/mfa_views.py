"""Second-factor pages: set up an authenticator (QR code), verify at login, new recovery codes, and
turn it off (only where it is optional). Rules and writes live in accounts/mfa.py."""

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from . import mfa


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


def _mark_verified(request, device) -> None:
    request.session.cycle_key()  # a new session key once the second factor is given
    otp_login(request, device)
    request.session[mfa.SESSION_ENROLLED] = True


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def setup(request):
    user = request.user
    if mfa.is_enrolled(user) and not user.is_verified():
        # A password alone must not replace an existing authenticator.
        return redirect(f"/accounts/2fa/verify/?next={request.get_full_path()}")
    device = mfa.start_enrolment(user)
    error = ""
    if request.method == "POST":
        enrolment = mfa.confirm_enrolment(user=user, device=device, code=request.POST.get("code", ""))
        if enrolment is not None:
            _mark_verified(request, enrolment.device)
            return render(
                request,
                "accounts/mfa_recovery_codes.html",
                {"codes": enrolment.recovery_codes, "next": _next_url(request), "first_time": True},
            )
        error = "That code did not match. Check the time on your phone and enter the current code."
    qr = segno.make(device.config_url, error="m")
    return render(
        request,
        "accounts/mfa_setup.html",
        {
            "qr_svg": qr.svg_inline(scale=5, dark="#111", light="#fff", title="Authenticator setup code"),
            "secret": _base32(device),
            "error": error,
            "required": mfa.mfa_required(user),
            "replacing": mfa.is_enrolled(user),
            "next": _next_url(request),
        },
        status=400 if error else 200,
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def verify(request):
    user = request.user
    if not mfa.is_enrolled(user):
        return redirect(f"/accounts/2fa/setup/?next={_next_url(request)}")
    if user.is_verified():
        return redirect(_next_url(request))
    error = ""
    if request.method == "POST":
        device = mfa.verify_code(user, request.POST.get("code", ""))
        if device is not None:
            _mark_verified(request, device)
            return redirect(_next_url(request))
        error = "That code did not work. Enter the current code from your app, or one of your recovery codes."
    return render(
        request,
        "accounts/mfa_verify.html",
        {"error": error, "next": _next_url(request)},
        status=400 if error else 200,
    )


@never_cache
@login_required
@require_POST
def recovery_codes(request):
    if not (mfa.is_enrolled(request.user) and request.user.is_verified()):
        return HttpResponseForbidden("Verify with your authenticator first.")
    codes = mfa.new_recovery_codes(request.user)
    return render(
        request, "accounts/mfa_recovery_codes.html", {"codes": codes, "next": "/", "first_time": False}
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def manage(request):
    user = request.user
    enrolled = mfa.is_enrolled(user)
    if request.method == "POST":
        if not enrolled or not user.is_verified() or mfa.mfa_required(user):
            return HttpResponseForbidden("Two-step verification cannot be turned off for this account.")
        mfa.disable(user=user, by=user)
        request.session[mfa.SESSION_ENROLLED] = False
        messages.success(request, "Two-step verification is off.")
        return redirect("accounts_mfa")
    return render(
        request, "accounts/mfa_manage.html", {"enrolled": enrolled, "required": mfa.mfa_required(user)}
    )


def _base32(device) -> str:
    from base64 import b32encode

    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
