"""Public certificate verification: a page and an API endpoint, no login, rate-limited per client."""

import json
import re

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from core.ratelimit import cache_text, client_address, hit, hit_and_get
from core.serializers import error
from courses.certificates import services as certificates
from courses.serializers import VerificationSerializer


def _allowed(request) -> bool:
    return hit(scope="verify", key=client_address(request), limit=settings.VERIFY_RATE_LIMIT_PER_MINUTE)


def verification_payload(result: certificates.Verification) -> dict:
    """The same keys for every status; no private data (no revocation reason, no email, no ids)."""
    c = result.certificate
    return {
        "status": result.status,
        "number": c.number if c else None,
        "learner_name": c.learner_name if c else None,
        "course": c.course_title if c else None,
        "ce_hours": str(c.ce_hours) if c else None,
        "completed_on": c.completed_on.isoformat() if c else None,
        "expires_on": c.expires_on.isoformat() if c and c.expires_on else None,
        "revoked_on": timezone.localdate(c.revoked_at).isoformat() if c and c.revoked_at else None,
        "renews": [p.number for p in result.chain],
    }


@never_cache
@require_GET
def verify_page(request, code: str = ""):
    code = code or request.GET.get("code", "").strip()
    if not code:
        return render(request, "certificates/verify.html", {"result": None})
    if request.GET.get("code"):
        if not certificates.VERIFY_CODE_PATTERN.fullmatch(code[:64]):
            # Not a code we issue (e.g. "a/b" cannot be put in the URL): say so, as a 400.
            unknown = certificates.Verification("unknown", None, [])
            context = {"result": unknown, "payload": verification_payload(unknown)}
            return render(request, "certificates/verify.html", context, status=400)
        return redirect("verify_certificate", code=code[:64])
    if not _allowed(request):
        response = render(request, "certificates/verify.html", {"rate_limited": True}, status=429)
        response["Retry-After"] = "60"
        return response
    result = certificates.verify(code=code)
    return render(
        request, "certificates/verify.html", {"result": result, "payload": verification_payload(result)}
    )


class VerifyCertificateAPI(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        responses={
            200: OpenApiResponse(
                VerificationSerializer, description="status: valid | expired | revoked | unknown"
            ),
            429: error("Too many verifications from this address; Retry-After says when"),
        },
        summary="Verify a certificate by its public code (no login)",
        operation_id="certificates_verify",
    )
    def get(self, request, code: str):
        return verify_api_response(request, code)


def verify_api_response(request, code: str) -> HttpResponse:
    """The verification API's answer: the limit and the cached answer in one Redis round trip, the
    database only on a miss. Served by `VerifyFastPathMiddleware` ahead of the session and
    authentication middleware; the view above is the same answer for the schema and the test client."""
    allowed, body = hit_and_get(
        scope="verify",
        key=client_address(request),
        limit=settings.VERIFY_RATE_LIMIT_PER_MINUTE,
        get=certificates.verification_cache_key(code),
    )
    if not allowed:
        return HttpResponse(
            json.dumps(
                {"detail": "Too many requests; try again in a minute.", "code": "rate_limited"},
                separators=(",", ":"),
            ),
            status=429,
            content_type="application/json",
            headers={"Retry-After": "60"},
        )
    if body is None:
        body = json.dumps(verification_payload(certificates.verify(code=code)), cls=DjangoJSONEncoder)
        cache_text(certificates.verification_cache_key(code), body, timeout=certificates.VERIFY_CACHE_SECONDS)
    return HttpResponse(body, content_type="application/json")


VERIFY_API_PATH = re.compile(r"/api/v1/certificates/verify/(?P<code>[^/]+)/")


class VerifyFastPathMiddleware:
    """Public certificate verification answered ahead of the session, CSRF, authentication, MFA and
    role middleware, none of which it needs (no login, no cookie, GET only), and of DRF's dispatch:
    the rate limit and the cached answer are one Redis round trip, so the rest of the stack was most of
    its cost. Placed right after SecurityMiddleware, so HTTPS redirects and security headers still
    apply; the headers the later middleware would add (Content-Length, X-Frame-Options, CSP) and DRF's
    own (Allow, Vary) are added here: `tests/unit/test_verify_fast_path.py` holds the answer equal to
    the full stack's, header for header."""

    def __init__(self, get_response):
        from csp.middleware import CSPMiddleware
        from django.middleware.clickjacking import XFrameOptionsMiddleware
        from django.middleware.common import CommonMiddleware

        self.get_response = get_response
        self.finishers = [m(get_response) for m in (CommonMiddleware, XFrameOptionsMiddleware, CSPMiddleware)]

    def __call__(self, request):
        match = VERIFY_API_PATH.fullmatch(request.path_info) if request.method == "GET" else None
        if match is None:
            return self.get_response(request)
        request.get_host()  # the Host check CommonMiddleware would make (DisallowedHost: 400)
        response = verify_api_response(request, match["code"])
        response["Allow"] = "GET, HEAD, OPTIONS"
        response["Vary"] = "Accept, Cookie"  # as the full stack's answer (its session middleware adds Cookie)
        for finisher in self.finishers:
            response = finisher.process_response(request, response)
        return response
