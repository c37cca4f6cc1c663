"""Issue 17 (points 3, 6, 8): branded error pages and no technical pages in the embedded run, the phone
header and labelled tables, certificate trust (draft mark, named signatory, border filling A4 and
Letter, Letter first, the reading time behind the CE hours), and lesson illustrations through the
sanitiser. Table-driven: one row per state."""

import html
import importlib
import re
import subprocess
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.test import override_settings
from django.urls import include, path

from courses.certificates import services as certificates
from courses.models import LessonProgress
from quizzes.markdown import render_markdown
from tests.certificate_helpers import completed_enrollment, evaluate, make_course, pdf_text
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _forbidden(request):
    raise PermissionDenied


def _broken(request):
    raise RuntimeError("boom")


urlpatterns = [
    path("forbidden-for-test/", _forbidden),
    path("broken-for-test/", _broken),
    path("", include("elearn.urls")),
]
handler404 = "core.error_pages.not_found"
handler500 = "core.error_pages.server_error"


ERROR_CASES = [
    # (name, logged in?, url, status, heading, way home)
    ("404 anonymous", False, "/no-such-page/", 404, "We could not find that page", "Go to the start page"),
    ("404 learner", True, "/no-such-page/", 404, "We could not find that page", "Go to my courses"),
    (
        "404 someone else's lesson",
        True,
        "/lessons/999999/",
        404,
        "We could not find that page",
        "Go to my courses",
    ),
    ("403", True, "/forbidden-for-test/", 403, "You cannot open this page", "Go to my courses"),
    ("500", True, "/broken-for-test/", 500, "Something went wrong on our side", "Go to my courses"),
]


@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
@pytest.mark.parametrize(("name", "logged_in", "url", "status", "heading", "home"), ERROR_CASES)
def test_error_pages_are_branded_with_the_header_and_a_way_home(
    client, name, logged_in, url, status, heading, home
):
    if logged_in:
        client.force_login(UserFactory())
    client.raise_request_exception = False
    response = client.get(url)
    assert response.status_code == status, name
    body = " ".join(html.unescape(response.content.decode()).split())
    assert f'<h1 id="error-heading">{heading}</h1>' in body, name
    assert "<strong>Staff training</strong>" in body, name  # the site header
    assert re.search(rf'<a role="button" href="/">{home}</a>', body), name
    assert "URLconf" not in body and "Traceback" not in body and "boom" not in body, name


def test_an_unknown_api_url_still_answers_json(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


LOCAL_DEBUG_CASES = [("unset", None, False), ("developer opts in", "1", True), ("explicit off", "0", False)]


@pytest.mark.parametrize(("name", "value", "debug"), LOCAL_DEBUG_CASES)
def test_the_embedded_run_shows_technical_pages_only_when_a_developer_asks(monkeypatch, name, value, debug):
    if value is None:
        monkeypatch.delenv("DJANGO_DEBUG", raising=False)
    else:
        monkeypatch.setenv("DJANGO_DEBUG", value)
    import elearn.settings.local as local

    local = importlib.reload(local)
    assert local.DEBUG is debug, name
    assert local.WHITENOISE_USE_FINDERS is True  # static files served without collectstatic either way


# --- phone: header and tables ---------------------------------------------------------------------


def test_header_has_one_menu_for_phones_with_the_same_links(client):
    client.force_login(UserFactory())
    body = client.get("/").content.decode()
    wide = re.search(r'<ul class="nav-wide">(.*?)</ul>', body, re.S).group(1)
    narrow = re.search(
        r'<ul class="nav-narrow">.*?<summary>Menu</summary>\s*<ul dir="rtl">(.*?)</ul>', body, re.S
    )
    links = re.findall(r'href="([^"]+)"', wide)
    assert links and re.findall(r'href="([^"]+)"', narrow.group(1)) == links


TABLE_CASES = [
    (
        "plain",
        "| Drug | Family |\n|---|---|\n| Heroin | Depressant |\n",
        ['data-label="Drug"', 'data-label="Family"'],
    ),
    (
        "escaped heading",
        '| Drug & "street" name | Family |\n|---|---|\n| Ice | Stimulant |\n',
        ['data-label="Drug &amp; &quot;street&quot; name"'],
    ),
    ("heading with markup", "| **Drug** | Family |\n|---|---|\n| Ice | Stimulant |\n", ['data-label="Drug"']),
]


@pytest.mark.parametrize(("name", "markdown", "labels"), TABLE_CASES)
def test_lesson_tables_carry_column_labels_for_phones(name, markdown, labels):
    out = render_markdown(markdown)
    assert '<table class="stack">' in out, name
    for label in labels:
        assert label in out, (name, out)
    assert "<strong>" not in out.split("<tbody>")[1].split("data-label=")[1].split(">")[0]


IMAGE_CASES = [
    ("own illustration", "![Recovery position](static:illustrations/recovery-position.svg)", True),
    ("remote image", "![x](https://tracker.example.com/pixel.png)", False),
    ("other static file", "![x](/static/vendor/pico-2.1.1.min.css)", False),
    ("path escape", "![x](static:illustrations/../../secret.svg)", False),
    ("not svg", "![x](static:illustrations/photo.png)", False),
    ("data uri", "![x](data:image/svg+xml;base64,PHN2Zz4=)", False),
]


@pytest.mark.parametrize(("name", "markdown", "kept"), IMAGE_CASES)
def test_only_the_projects_own_illustrations_survive_the_sanitiser(settings, name, markdown, kept):
    out = render_markdown(markdown)
    has_src = re.search(r'<img [^>]*src="([^"]*)"', out)
    assert bool(has_src) is kept, (name, out)
    if kept:
        assert has_src.group(1) == f"{settings.STATIC_URL}illustrations/recovery-position.svg"
    assert "<img" not in out or 'alt="' in out  # where an image stays, its alt text stays


# --- certificates ---------------------------------------------------------------------------------


@pytest.fixture
def learner(db):
    return UserFactory(first_name="Ada", last_name="Lovelace")


def certificate_for(user, *, reviewed: bool, reading_seconds: int = 0):
    course = make_course(slug=f"c-{reviewed}", title="Naloxone basics", ce_hours="4")
    if not reviewed:
        course.versions.update(medical_reviewer="", medical_review_date=None, status="draft")
    enrollment = completed_enrollment(user, course)
    if reading_seconds:
        lesson_progress(enrollment, reading_seconds)
    evaluate(enrollment)  # a course with CE hours asks for the evaluation first
    outcome = certificates.issue_certificate(enrollment_id=enrollment.pk)
    assert outcome.certificate is not None, outcome.reason
    return outcome.certificate


def lesson_progress(enrollment, seconds: int) -> None:
    from courses.models import Lesson, Module
    from quizzes.models import Quiz

    quiz = Quiz.objects.create(key="m1-quiz", settings_hash="0" * 64, title="Quiz")
    module = Module.objects.create(version=enrollment.version, key="m1", title="M", position=1, quiz=quiz)
    for n, part in enumerate((seconds // 2, seconds - seconds // 2)):
        lesson = Lesson.objects.create(
            module=module, key=f"l{n}", title="L", position=n, body="b", body_html="b"
        )
        LessonProgress.objects.create(
            enrollment=enrollment,
            lesson=lesson,
            seconds_recorded=part,
            first_opened_at=enrollment.completed_at,
        )


CERTIFICATE_CASES = [
    # (name, reviewed?, reading seconds, draft mark shown?, reading time text)
    ("reviewed", True, 3 * 3600 + 5 * 60, False, "3 h 05 min"),
    ("unreviewed draft", False, 42 * 60, True, "42 min"),
    ("no reading recorded", True, 0, False, "0 min"),
]


@pytest.mark.parametrize(("name", "reviewed", "seconds", "draft", "reading"), CERTIFICATE_CASES)
def test_certificate_pdf_states_draft_signatory_and_reading_time(
    settings, tmp_path, learner, name, reviewed, seconds, draft, reading
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CERTIFICATE_SIGNATORY_NAME = "Jordan Reyes, RN"
    certificate = certificate_for(learner, reviewed=reviewed, reading_seconds=seconds)
    text = pdf_text(certificates.render_pdf_bytes(certificate, paper="letter"), tmp_path)
    assert ("DRAFT – not medically reviewed" in text) is draft, name
    assert (
        "medically reviewed by Dr Test Reviewer on 15 January 2030" in " ".join(text.split())
    ) is reviewed, name
    assert "Jordan Reyes, RN Director of Training" in text, name
    assert f"lesson time recorded: {reading}" in text, name


def test_the_certificates_page_lists_letter_first_and_shows_draft_and_reading_time(
    client, learner, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    draft = certificate_for(learner, reviewed=False, reading_seconds=3600 + 60)
    client.force_login(learner)
    body = " ".join(html.unescape(client.get("/certificates/").content.decode()).split())
    links = re.findall(rf'href="/certificates/{draft.pk}/pdf/\?paper=(\w+)">([^<]+)</a>', body)
    assert links == [("letter", "PDF (US Letter)"), ("a4", "A4")]
    assert "DRAFT – not medically reviewed" in body
    assert "lesson time recorded: 1 h 01 min" in body
    pdf = client.get(f"/certificates/{draft.pk}/pdf/")
    data = b"".join(pdf.streaming_content) if pdf.streaming else pdf.content
    info = subprocess.run(["pdfinfo", "-"], input=data, capture_output=True, check=True).stdout.decode()
    assert pdf.status_code == 200 and "792 x 612" in info  # the stored copy is US Letter


def frame_rows(pdf: bytes, tmp_path: Path) -> tuple[int, int]:
    """(lowest row of the blue frame, page height) in a 40 dpi render."""
    from PIL import Image

    (tmp_path / "c.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "40", str(tmp_path / "c.pdf"), str(tmp_path / "page")], check=True
    )
    image = Image.open(next(tmp_path.glob("page*.png"))).convert("RGB")
    width, height = image.size
    lowest = 0
    for y in range(height):
        for x in range(0, width, 2):
            r, g, b = image.getpixel((x, y))
            if b > 90 and b - r > 40:  # the frame's blue, not the black text
                lowest = y
                break
    return lowest, height


@pytest.mark.parametrize(("paper", "size"), [("letter", "792 x 612"), ("a4", "841.89 x 595.276")])
def test_the_border_reaches_the_foot_of_the_page_on_both_papers(tmp_path, learner, settings, paper, size):
    settings.MEDIA_ROOT = tmp_path / "media"
    certificate = certificate_for(learner, reviewed=True)
    pdf = certificates.render_pdf_bytes(certificate, paper=paper)
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert size in info and re.search(r"^Pages:\s+1$", info, re.M)
    lowest, height = frame_rows(pdf, tmp_path)
    assert lowest >= 0.93 * height, (lowest, height)


def test_letter_is_the_default_paper(settings):
    from elearn.settings import base

    assert base.CERTIFICATE_PAPER == "letter"


LOADER_IMAGE_CASES = [
    ("own drawing", "![A drawing](static:illustrations/recovery-position.svg)", []),
    ("missing drawing", "![A drawing](static:illustrations/no-such.svg)", ["no such drawing"]),
    ("remote", "![A photo](https://example.com/x.png)", ["static:illustrations/<name>.svg"]),
    ("relative file", "![A photo](image.png)", ["static:illustrations/<name>.svg"]),
]


@pytest.mark.parametrize(("name", "markdown", "problems"), LOADER_IMAGE_CASES)
def test_the_loader_accepts_only_the_projects_drawings(name, markdown, problems):
    from courses.catalog.loader import _image_problems

    found = _image_problems(markdown)
    assert len(found) == len(problems), (name, found)
    for problem, fragment in zip(found, problems, strict=True):
        assert fragment in problem, name


ILLUSTRATED_LESSONS = [
    ("od-recognising-an-overdose", "pupils-pinpoint-vs-normal.svg", "pinpoint pupil"),
    ("od-responding-step-by-step", "recovery-position.svg", "recovery position"),
    ("od-giving-naloxone", "naloxone-nasal-steps.svg", "nasal naloxone"),
]


@override_settings(COURSE_ALLOW_UNREVIEWED=True)
def test_the_real_lessons_show_the_drawings_with_alt_text(settings):
    from courses.catalog import services
    from courses.models import Lesson
    from tests.course_helpers import REAL_COURSE_DIR

    services.load_course(path=REAL_COURSE_DIR)
    for key, drawing, words in ILLUSTRATED_LESSONS:
        body = Lesson.objects.filter(key=key).latest("pk").body_html
        image = re.search(rf'<img src="{settings.STATIC_URL}illustrations/{drawing}" alt="([^"]+)"', body)
        assert image and words in image.group(1).lower(), key
        svg = (Path(settings.BASE_DIR) / "frontend" / "static" / "illustrations" / drawing).read_text()
        assert "<title" in svg and "<desc" in svg and "<script" not in svg and "href" not in svg, drawing
