"""Finding 8 (Content-Security-Policy): there was none. Now every response carries a strict policy
(django-csp: our own scripts, styles, fonts and images only; no inline script or style; no framing),
the templates have no inline scripts or event handlers, and a browser opens every page type (public,
learner, attempt, team, surveyor, second factor, Django admin, API docs) as the right person and
finds no violation: the page's securitypolicyviolation events and Chromium's console are watched
(tests/e2e/conftest.py, the same watch every browser test has)."""

import io
import re
import time
from base64 import b32decode
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django_otp.oath import TOTP

from accounts import mfa
from accounts.models import User
from tests.beyond_helpers import certify, load, write_course
from tests.browser import watch_csp
from tests.course_helpers import read_all_lessons

PASSWORD = "csp-e2e-password-2026"
ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [ROOT / app / "templates" for app in ("frontend", "core", "courses", "accounts", "lti")]


@pytest.mark.django_db
def test_finding8_csp_header_is_strict_on_every_response():
    # (/healthz and /readyz are answered by the first middleware, before this one: JSON, no document.)
    for path in ("/accounts/login/", "/verify/", "/nope/", "/api/v1/certificates/verify/x/", "/api/docs/"):
        policy = Client().get(path)["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives["script-src"] == "'self'", path
        assert directives["style-src"] == "'self'", path
        assert directives["default-src"] == "'self'", path
        assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'", path
        assert "unsafe" not in policy, path


def test_finding8_csp_no_inline_script_or_handler_in_any_template():
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
    handler = re.compile(r"\son[a-z]+\s*=", re.I)
    style_attribute = re.compile(r"\sstyle\s*=", re.I)
    offenders = []
    for directory in TEMPLATE_DIRS:
        for template in directory.rglob("*.html"):
            text = template.read_text()
            if "certificates/certificate.html" in str(template) or "evidence_summary.html" in str(template):
                continue  # rendered to PDF by WeasyPrint, never served to a browser
            for pattern in (inline_script, handler, style_attribute):
                offenders += [f"{template.relative_to(ROOT)}: {m.group(0)}" for m in pattern.finditer(text)]
    assert offenders == []


@pytest.fixture
def site(settings, monkeypatch, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    call_command("seed_demo", "--no-content", stdout=io.StringIO())
    tiny = load(write_course(tmp_path, slug="csp-course", ce_hours=0, with_final=False))
    learner = User.objects.get(username="learner")
    certify(learner, tiny)
    other = User.objects.create_user(
        username="second", password=PASSWORD, department=learner.department, supervisor=learner.supervisor
    )
    from courses.enrollment import services

    services.enroll(user=other, course=tiny.course)
    read_all_lessons(other, tiny.version)  # so the first quiz can be started from its page
    return tiny


def log_in(page, base, username):
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def visit(page, base, path, opened):
    response = page.goto(f"{base}{path}")
    page.wait_for_load_state("networkidle")
    assert response is not None and response.status < 500, (path, response and response.status)
    opened.append(path)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_finding8_csp_no_violation_on_any_page_type(live_server, chromium, site, settings):
    base, opened = live_server.url, []
    settings.MFA_ENFORCED = True  # the admin goes through the second-factor pages too
    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    violations = watch_csp(context, page)

    for path in (
        "/accounts/login/",
        "/accounts/password_reset/",
        "/verify/",
        "/verify/unknown-code/",
        "/nope/",
    ):
        visit(page, base, path, opened)
    page.goto(f"{base}/verify/?code=a/b")  # the 400 page
    opened.append("/verify/?code=a/b")

    log_in(page, base, "second")  # a learner with an open course: lesson, quiz, attempt
    for path in ("/", "/transcript/", "/certificates/", "/courses/csp-course/", "/accounts/2fa/"):
        visit(page, base, path, opened)
    page.goto(f"{base}/courses/csp-course/")
    lesson = page.locator("a[href*='/lessons/']").first.get_attribute("href")
    visit(page, base, lesson, opened)
    page.goto(f"{base}/courses/csp-course/")
    quiz = page.locator("a[href*='/quizzes/']").first.get_attribute("href")
    visit(page, base, quiz, opened)
    page.click("form[action*='/start/'] button")
    page.wait_for_url(re.compile(r"/attempts/\d+/"))
    page.locator(
        "fieldset[data-question] input[type=radio], fieldset[data-question] input[type=checkbox]"
    ).first.check()  # autosave (htmx)
    page.wait_for_load_state("networkidle")
    opened.append("attempt")
    visit(page, base, "/accounts/2fa/setup/", opened)  # the QR code page
    context.clear_cookies()

    log_in(page, base, "supervisor")
    for path in ("/team/", "/team/overdue/", "/team/completions/", "/team/quizzes/", "/team/signoffs/"):
        visit(page, base, path, opened)
    page.goto(f"{base}/team/")
    visit(page, base, page.locator("a[href*='/team/people/']").first.get_attribute("href"), opened)
    context.clear_cookies()

    log_in(page, base, "surveyor")
    for path in ("/team/", "/team/evidence/"):
        visit(page, base, path, opened)
    context.clear_cookies()

    admin = User.objects.get(username="admin")
    _, key, _ = mfa.enrol_for_demo(admin)
    log_in(page, base, "admin")
    assert "/accounts/2fa/verify/" in page.url
    opened.append("2fa verify")
    totp = TOTP(b32decode(key))
    totp.time = time.time()
    page.fill("#id_code", f"{totp.token():06d}")
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/2fa/" not in url)
    for path in (
        "/admin/",
        "/admin/accounts/user/",
        f"/admin/accounts/user/{admin.pk}/change/",
        "/admin/knox/authtoken/",
        "/api/docs/",
    ):
        visit(page, base, path, opened)
    assert page.locator(".swagger-ui").count() == 1  # Swagger UI started from its script file
    assert len(opened) >= 25
    assert violations == [], violations
    # The watch itself works: an inline script added to the page is refused and reported.
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = '1'; document.body.append(s); }"
    )
    page.wait_for_timeout(500)
    context.close()
    assert len(violations) >= 1 and "script-src" in " ".join(violations)
