"""Public certificate verification: a page and an API endpoint, no login, rate-limited per client."""

import json

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.ratelimit import cache_text, client_address, hit, hit_and_get

from . import certificates


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
                OpenApiTypes.OBJECT, description="status: valid | expired | revoked | unknown"
            ),
            429: OpenApiTypes.OBJECT,
        },
        summary="Verify a certificate by its public code (no login)",
        operation_id="certificates_verify",
    )
    def get(self, request, code: str):
        # The limit and the cached answer in one Redis round trip; the database only on a miss.
        allowed, body = hit_and_get(
            scope="verify",
            key=client_address(request),
            limit=settings.VERIFY_RATE_LIMIT_PER_MINUTE,
            get=certificates.verification_cache_key(code),
        )
        if not allowed:
            return Response(
                {"detail": "Too many requests; try again in a minute.", "code": "rate_limited"},
                status=429,
                headers={"Retry-After": "60"},
            )
        if body is None:
            body = json.dumps(verification_payload(certificates.verify(code=code)), cls=DjangoJSONEncoder)
            cache_text(
                certificates.verification_cache_key(code), body, timeout=certificates.VERIFY_CACHE_SECONDS
            )
        return HttpResponse(body, content_type="application/json")
