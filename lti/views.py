"""The tool's endpoints. Thin: pylti1p3 checks the protocol (state cookie, signature against the
platform's JWKS, registration, deployment, message), lti.services does every write.

Launches arrive as cross-site POSTs from the platform: login initiation and launch are exempt from
Django's CSRF check (the OIDC state cookie and the signed, single-use id_token protect them), and the
deep-linking page, which platforms show inside their own page, may be framed by that platform only."""

from urllib.parse import urlsplit

import requests
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.exception import LtiException, LtiServiceException, OIDCException
from pylti1p3.lineitem import LineItem

from . import keys, passback, selectors, services, tool
from .models import ResourceLink

DEEP_LINK_REQUEST = "LtiDeepLinkingRequest"
MESSAGE_TYPE = services.CLAIM + "message_type"
TARGET_LINK_URI = services.CLAIM + "target_link_uri"
DEEP_LINKING_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"


def _refused(request, text: str, *, status: int = 400, title: str = "This LMS launch did not work"):
    return render(
        request,
        "error_page.html",
        {"error_code": status, "error_title": title, "error_text": text},
        status=status,
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _framed_by(response: HttpResponse, *, claims: dict, form_action: str | None = None) -> HttpResponse:
    """Let the platform (and only it) show this page in its frame; let a form post back to it. The
    platform's pages may live on another host than its issuer (Canvas: issuer canvas.instructure.com,
    pages on the school's own host), so the deep-linking return URL's origin is allowed too."""
    return_url = (claims.get(DEEP_LINKING_SETTINGS) or {}).get("deep_link_return_url", "")
    origins = sorted({_origin(url) for url in (claims["iss"], return_url) if url})
    replace = {"frame-ancestors": origins}
    if form_action:
        replace["form-action"] = ["'self'", _origin(form_action)]
    response._csp_replace = replace  # read by django-csp's middleware
    return response


def _meant_for_this_tool(request, target_link_uri: str) -> bool:
    """The signed launch names the URL it was meant for: it must be this tool's launch URL on this host
    (a launch signed for another tool of the same platform is not replayed here)."""
    target = urlsplit(target_link_uri)
    return target.netloc == request.get_host() and target.path == reverse("lti:launch")


def launch_url(request) -> str:
    return request.build_absolute_uri(reverse("lti:launch"))


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def login_initiation(request):
    """Third-party initiated login: answer with the redirect to the platform's authentication endpoint
    (state in a cookie, nonce remembered for one launch)."""
    try:
        return tool.oidc_login(request).redirect(launch_url(request))
    except (OIDCException, LtiException) as exc:
        return _refused(request, f"The LMS is not registered here, or sent an incomplete request ({exc}).")


@csrf_exempt
@xframe_options_exempt
@never_cache
@require_POST
def launch(request):
    message = tool.message_launch(request)
    try:
        claims = message.get_launch_data()  # validates everything, once
    except LtiException as exc:
        return _refused(request, f"The launch could not be verified: {exc}.", status=403)
    if not _meant_for_this_tool(request, claims.get(TARGET_LINK_URI, "")):
        return _refused(request, "The LMS sent this launch for another tool's address.", status=403)
    if claims.get(MESSAGE_TYPE) == DEEP_LINK_REQUEST:
        if not services.is_instructor(claims):
            return _refused(request, "Only an instructor can choose what to add to the course.", status=403)
        accepts = (claims.get(DEEP_LINKING_SETTINGS) or {}).get("accept_types") or []
        if "ltiResourceLink" not in accepts:
            return _refused(
                request, "This place in the LMS does not accept an LTI link; add the tool as an activity."
            )
        response = render(
            request,
            "lti/deep_link.html",
            {
                "launch_token": message.get_launch_id(),
                "choices": selectors.deep_link_choices(),
                "accept_multiple": False,
            },
        )
        return _framed_by(response, claims=claims)
    try:
        result = services.resource_launch(claims=claims)
    except services.LaunchRefused as exc:
        return _refused(request, str(exc), status=403)
    login(request, result.user, backend="accounts.auth.ExpiringSurveyorBackend")
    return redirect(result.redirect_to)


@require_GET
def jwks(request):
    keys.signing_key()  # a fresh install publishes its first key
    response = JsonResponse(keys.jwks())
    response["Cache-Control"] = "public, max-age=300"
    return response


class WindowDeepLinkResource(DeepLinkResource):
    """Opens in a new window: this engine's pages refuse to be framed (Content-Security-Policy)."""

    def to_dict(self):
        return {**super().to_dict(), "window": {"targetName": "_blank"}}


@csrf_exempt  # the launch token, from the verified launch and used once, is what authorises the choice
@xframe_options_exempt
@never_cache
@require_POST
def deep_link_choose(request):
    launch_id = request.POST.get("launch", "")
    if not launch_id.startswith("lti1p3-launch-"):
        return _refused(request, "This choice has expired. Open the tool again from the LMS.")
    try:
        message = tool.restored_launch(request, launch_id)
    except LtiException:
        return _refused(request, "This choice has expired. Open the tool again from the LMS.")
    claims = message.get_launch_data()
    if claims.get(MESSAGE_TYPE) != DEEP_LINK_REQUEST or not services.is_instructor(claims):
        return _refused(request, "Only an instructor can choose what to add to the course.", status=403)
    course_slug, _, quiz_key = request.POST.get("choice", "").partition(":")
    found = selectors.find_choice(course_slug=course_slug, quiz_key=quiz_key)
    if found is None:
        return _refused(request, "Choose a course or a quiz from the list.")
    course, quiz = found
    cache.delete(f"lti:launch:{launch_id}")  # one response per deep-linking launch
    services.record_deep_link(claims=claims, course_slug=course.slug, quiz_key=quiz.key if quiz else "")
    title = quiz.title if quiz else course.title
    resource = (
        WindowDeepLinkResource()
        .set_url(launch_url(request))
        .set_title(f"{course.title}: {quiz.title}" if quiz else title)
        .set_custom_params({"course": course.slug, "quiz": quiz.key if quiz else ""})
        .set_lineitem(
            LineItem()
            .set_label(title)
            .set_score_maximum(100 if quiz else 1)
            .set_tag("quiz" if quiz else "course")
        )
    )
    deep_link = message.get_deep_link()
    return_url = claims[DEEP_LINKING_SETTINGS]["deep_link_return_url"]
    response = render(
        request,
        "lti/deep_link_return.html",
        {
            "return_url": return_url,
            "jwt": deep_link.get_response_jwt([resource]),
            "title": resource.to_dict()["title"],
        },
    )
    return _framed_by(response, claims=claims, form_action=return_url)


@login_required
@require_GET
def roster(request, link_id: int):
    """The LMS course's people (Names and Role Provisioning), for supervisors and admins."""
    if not request.user.is_supervisor_or_above:
        return _refused(
            request, "Only supervisors and admins see LMS rosters.", status=403, title="Not allowed"
        )
    link = get_object_or_404(ResourceLink.objects.select_related("platform", "course"), pk=link_id)
    try:
        members = passback.roster(link)
        error = ""
    except (LtiException, LtiServiceException, requests.RequestException) as exc:
        members, error = [], f"The LMS did not answer the roster request ({exc})."
    rows = selectors.roster_rows(link=link, members=members, viewer=request.user)
    return render(request, "lti/roster.html", {"link": link, "rows": rows, "error": error})
