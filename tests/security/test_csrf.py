"""CSRF on every state-changing form: every URL of the site (the admin and the session-authenticated API
included), POSTed by a logged-in admin without a CSRF token, is refused with 403; the same POST with
the token gets through the CSRF check. And every POST form in the templates carries the token."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SAMPLE = {
    "int": "1",
    "slug": "some-course",
    "str": "x",
    "path": "x",
    "uuid": "00000000-0000-0000-0000-000000000000",
}


def concrete_urls(patterns=None, prefix: str = ""):
    """Every route of the project with each converter filled in with a sample value."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            yield from concrete_urls(entry.url_patterns, prefix + _route(entry.pattern))
        elif isinstance(entry, URLPattern):
            route = prefix + _route(entry.pattern)
            if route is not None and "(?" not in route and "^" not in route:
                yield "/" + route, entry


def _route(pattern) -> str:
    text = str(pattern)
    text = re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE.get(m.group(1) or "str", "x"), text)
    return text.lstrip("^").rstrip("$").replace("\\Z", "").replace("\\", "")


# LTI 1.3 (lti/views.py): the platform POSTs these cross-site, so no CSRF token can come with them. The
# OIDC state cookie and the signed, single-use id_token protect the login and launch; the deep-linking
# choice is authorised by the single-use launch id of a verified instructor launch (tests/lti/).
LTI_CROSS_SITE = ("/lti/login/", "/lti/launch/", "/lti/deep-link/")
# Forms that must not carry our token: the deep-linking choice (shown in the LMS's frame, where our
# cookies are third-party; authorised as above) and the response form that posts to the LMS itself.
FORMS_WITHOUT_TOKEN = ("lti/templates/lti/deep_link.html", "lti/templates/lti/deep_link_return.html")


def test_every_post_without_a_csrf_token_is_refused(tmp_path):
    admin = UserFactory(username="root", role=Role.ADMIN, is_staff=True, is_superuser=True)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin)
    urls = sorted({url for url, _ in concrete_urls() if not url.startswith("/static/")})
    assert len(urls) >= 40, urls
    refused, others = [], []
    for url in urls:
        response = strict.post(url, {"reason": "x", "kind": "exemption"})
        (refused if response.status_code == 403 else others).append((url, response.status_code))
    # Anything not refused must be a URL that accepts no POST at all (405) or a public, read-only API
    # view, or the token logout (token auth only, no session: nothing for a forged cross-site request
    # to ride on).
    unexpected = [
        (url, status)
        for url, status in others
        if status != 405
        and url not in ("/api/v1/auth/token/", "/api/v1/certificates/verify/x/", "/api/v1/auth/logout/")
        and url not in LTI_CROSS_SITE
    ]
    assert not unexpected, unexpected
    for must in (
        "/accounts/login/",
        "/attempts/1/submit/",
        "/attempts/1/autosave/",
        "/quizzes/1/start/",
        "/lessons/1/read/",
        "/courses/some-course/evaluation/",
        "/team/people/1/overrides/",
        "/team/signoffs/1/1/",
        "/team/exports/x/",
        "/team/evidence/",
        "/team/overdue/1/remind/",
        "/api/v1/attempts/1/submit/",
        "/api/v1/quizzes/1/attempts/",
        "/admin/accounts/user/x/change/",
        "/accounts/logout/",
    ):
        assert (must, 403) in refused, must


def test_the_same_post_with_the_token_passes_the_csrf_check():
    UserFactory(username="nurse")
    client = Client(enforce_csrf_checks=True)
    token = re.search(
        r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get("/accounts/login/").content.decode()
    )
    response = client.post(
        "/accounts/login/",
        {
            "username": "nurse",
            "password": "correct horse battery staple",
            "csrfmiddlewaretoken": token.group(1),
        },
    )
    assert response.status_code == 302


def test_every_post_form_in_the_templates_carries_the_token():
    forms = 0
    for template in Path(settings.BASE_DIR).glob("*/templates/**/*.html"):
        text = template.read_text()
        for form in re.findall(r"<form\b[^>]*>.*?</form>", text, re.S | re.I):
            if re.search(r'method="post"', form, re.I):
                if str(template.relative_to(settings.BASE_DIR)) in FORMS_WITHOUT_TOKEN:
                    assert "{% csrf_token %}" not in form, template
                    continue
                forms += 1
                assert "{% csrf_token %}" in form, f"{template}: {form[:120]}"
    assert forms >= 15
    base = (Path(settings.BASE_DIR) / "frontend/templates/base.html").read_text()
    assert "X-CSRFToken" in base  # htmx requests (hx-post) send the token as a header
