"""Surveyors and the evidence pack (issue 11).

A surveyor sees only the departments of their scope, never answers; the account expires (no login, open
sessions and API tokens end); every page, file or API call they open is in the audit log. The evidence
pack ZIP (summary PDF, completions CSV, certificate PDFs, sign-off CSV, audit verification, manifest)
is checked file by file against the database for the department and the period.

Timeline: Dave was trained in June 2028 (certificate expired June 2029, outside the period); on 1 March
2030 Alice (ward) and Carol (detox) complete the course and Bob (ward) is enrolled, due 15 February 2030.
The period is Q1 2030; the surveyor's scope is the ward, for Q1 2030, until 1 April 2030."""

import csv
import hashlib
import io
import re
import zipfile
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Role, SurveyorScope
from accounts.services import grant_surveyor_access
from core import audit
from core.models import AuditEvent
from courses import scope as reports
from courses.enrollment import services
from courses.evidence import services as evidence
from courses.models import Certificate, Enrollment, EvidencePack, ExportJob, SkillSignoff
from courses.reports import exports
from courses.reports import selectors as reports_selectors
from quizzes.models import Choice, Question
from tests.beyond_helpers import SKILLS, certify, load, write_course
from tests.certificate_helpers import pdf_text, squeezed
from tests.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory
PERIOD = (date(2030, 1, 1), date(2030, 3, 31))
TEAM_API = "/api/v1/reports/team-progress/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def world(tmp_path, clock):
    clock.now = datetime(2028, 6, 1, 14, 0, tzinfo=UTC)
    tiny = load(
        write_course(
            tmp_path, slug="evidence-course", skills=SKILLS[:1], ce_hours=0, modules=("ma",), with_final=False
        )
    )
    ward = DepartmentFactory(code="ward", name="Residential ward")
    detox = DepartmentFactory(code="detox", name="Detox unit")
    dave = UserFactory(department=ward, first_name="Dave", last_name="Old", employee_id="E-102")
    old_certificate = certify(dave, tiny)
    assert old_certificate.expires_on < PERIOD[0]

    clock.now = datetime(2030, 3, 1, 14, 0, tzinfo=UTC)
    alice = UserFactory(department=ward, first_name="Alice", last_name="Able", employee_id="E-100")
    bob = UserFactory(department=ward, first_name="Bob", last_name="Brown", employee_id="E-101")
    carol = UserFactory(department=detox, first_name="Carol", last_name="Cole", employee_id="E-200")
    certificates = {alice: certify(alice, tiny), carol: certify(carol, tiny)}
    services.enroll(user=bob, course=tiny.course, due_date=date(2030, 2, 15))
    admin = UserFactory(role=Role.ADMIN, username="registrar", department=None)
    surveyor = UserFactory(role=Role.SURVEYOR, username="surveyor-jc", department=None)
    grant_surveyor_access(
        user=surveyor,
        departments=[ward],
        records_from=PERIOD[0],
        records_to=PERIOD[1],
        expires_at=datetime(2030, 4, 1, tzinfo=UTC),
        by=admin,
    )
    return SimpleNamespace(
        tiny=tiny,
        ward=ward,
        detox=detox,
        alice=alice,
        bob=bob,
        carol=carol,
        dave=dave,
        admin=admin,
        surveyor=surveyor,
        certificates=certificates,
        clock=clock,
    )


def expire(surveyor) -> None:
    SurveyorScope.objects.filter(user=surveyor).update(expires_at=timezone.now() - timedelta(seconds=1))


def api_names(client) -> set[str]:
    response = client.get(TEAM_API, {"course": "evidence-course"})
    assert response.status_code == 200, response.content
    return {row["person"]["name"] for row in response.json()["results"]}


def opened_paths(surveyor) -> list[str]:
    return [e.data["path"] for e in AuditEvent.objects.filter(action="surveyor.opened", actor=surveyor)]


# --- what a surveyor sees ---------------------------------------------------------------------------------


def test_a_surveyor_without_a_scope_sees_nobody_and_cannot_stay_logged_in(world, client):
    stranger = UserFactory(role=Role.SURVEYOR, department=world.ward)  # a department is not a scope
    assert not reports.visible_staff(stranger).exists()
    api = APIClient()
    api.force_authenticate(stranger)
    assert api_names(api) == set()
    assert not reports.departments_in_scope(stranger).exists()
    assert not client.login(username=stranger.username, password=PASSWORD)
    client.force_login(stranger)
    response = client.get(reverse("frontend:team"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_scoped_surveyor_sees_only_their_departments_on_the_page_and_the_api(world, client):
    assert set(reports.visible_staff(world.surveyor)) == {world.alice, world.bob, world.dave}
    assert client.login(username=world.surveyor.username, password=PASSWORD)
    page = client.get(reverse("frontend:team"), {"course": "evidence-course"}).content.decode()
    for name in ("Alice Able", "Bob Brown", "Dave Old"):
        assert name in page
    assert "Carol Cole" not in page
    assert api_names(client) == {"Alice Able", "Bob Brown", "Dave Old"}
    response = client.get(TEAM_API, {"course": "evidence-course", "department": world.detox.pk})
    assert response.json()["count"] == 0
    # An admin sees the other department too (the same pages, a wider scope).
    client.force_login(world.admin)
    assert "Carol Cole" in api_names(client)


def test_a_surveyor_never_sees_answers(world, client):
    client.force_login(world.surveyor)
    person = client.get(reverse("frontend:team_person", args=[world.alice.pk]))
    assert person.status_code == 200
    html = person.content.decode()
    assert world.certificates[world.alice].number in html  # completion records and certificates: yes
    assert "<h2>Attempts</h2>" not in html and "evidence-course-ma-single" not in html
    assert client.get(reverse("frontend:team_person", args=[world.carol.pk])).status_code == 404
    detail = reports_selectors.person_detail(world.surveyor, person_id=world.alice.pk)
    assert detail["attempts"] == [] and detail["answers"] == {}
    assert reports_selectors.person_detail(world.admin, person_id=world.alice.pk)["answers"]

    quiz = world.tiny.modules[0].quiz
    assert client.get(f"/api/v1/reports/item-analysis/{quiz.pk}/").status_code == 404
    assert client.get(reverse("frontend:team_quiz", args=[quiz.pk])).status_code == 404
    assert client.get(reverse("frontend:team_quizzes")).status_code == 404
    assert client.post(reverse("frontend:team_export_start", args=["answers"])).status_code == 404
    with pytest.raises(exports.ExportRefused):
        exports.request_export(requested_by=world.surveyor, kind="answers", params={})
    assert not ExportJob.objects.exists()

    # The same requests by an admin succeed: the refusals are about the role.
    client.force_login(world.admin)
    assert client.get(f"/api/v1/reports/item-analysis/{quiz.pk}/").status_code == 200
    assert (
        "<h2>Attempts</h2>"
        in client.get(reverse("frontend:team_person", args=[world.alice.pk])).content.decode()
    )
    assert client.post(reverse("frontend:team_export_start", args=["answers"])).status_code == 302


def test_an_expired_surveyor_cannot_log_in_and_an_open_session_ends(world, client):
    assert client.login(username=world.surveyor.username, password=PASSWORD)
    assert client.get(reverse("frontend:team")).status_code == 200
    expire(world.surveyor)

    # The next request is no longer authenticated: sent to the login page, nothing shown.
    response = client.get(reverse("frontend:team"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert client.get(TEAM_API).status_code in (401, 403, 404)  # reports answer 404 to the anonymous
    assert client.get(reverse("frontend:team_person", args=[world.alice.pk])).status_code == 302
    assert not client.login(username=world.surveyor.username, password=PASSWORD)
    assert not reports.visible_staff(world.surveyor).exists()
    # Other people are not affected.
    assert client.login(username=world.alice.username, password=PASSWORD)


def test_an_api_token_stops_with_the_surveyor_access_and_each_call_is_audited(world):
    api = APIClient()
    token = api.post(
        "/api/v1/auth/token/", {"username": world.surveyor.username, "password": PASSWORD}, format="json"
    ).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_names(api) == {"Alice Able", "Bob Brown", "Dave Old"}
    assert opened_paths(world.surveyor) == [f"{TEAM_API}?course=evidence-course"]

    expire(world.surveyor)
    assert api.get(TEAM_API).status_code in (401, 403)
    refused = APIClient().post(
        "/api/v1/auth/token/", {"username": world.surveyor.username, "password": PASSWORD}, format="json"
    )
    assert refused.status_code == 400


def test_every_page_and_file_a_surveyor_opens_is_audited(world, client):
    client.force_login(world.surveyor)
    visits = [
        (reverse("frontend:team") + "?course=evidence-course", 200),
        (reverse("frontend:team_person", args=[world.alice.pk]), 200),
        (reverse("frontend:team_person", args=[world.carol.pk]), 404),  # refused pages too
        (f"{TEAM_API}?course=evidence-course", 200),
        (reverse("frontend:team_evidence"), 200),
    ]
    for path, status in visits:
        assert client.get(path).status_code == status, path
    events = list(AuditEvent.objects.filter(action="surveyor.opened").order_by("pk"))
    assert [(e.data["path"], e.data["status"], e.data["method"]) for e in events] == [
        (path, status, "GET") for path, status in visits
    ]
    assert {(e.actor_id, e.target_type) for e in events} == {(world.surveyor.pk, "path")}
    assert events[1].target_id == reverse("frontend:team_person", args=[world.alice.pk])
    # Nobody else's browsing is recorded this way; the chain stays intact.
    client.force_login(world.admin)
    client.get(reverse("frontend:team"))
    assert AuditEvent.objects.filter(action="surveyor.opened").count() == len(visits)
    assert audit.verify_chain().ok


# --- the evidence pack -------------------------------------------------------------------------------------


def test_a_pack_is_refused_outside_the_scope_or_the_date_range(world):
    def ask(user, department, start, end):
        return evidence.request_pack(
            requested_by=user, department_id=department.pk, date_from=start, date_to=end
        )

    refusals = [
        (world.surveyor, world.detox, *PERIOD),  # another department
        (world.surveyor, world.ward, date(2029, 12, 31), PERIOD[1]),  # starts before the scope
        (world.surveyor, world.ward, PERIOD[0], date(2030, 4, 1)),  # ends after it
        (world.surveyor, world.ward, PERIOD[1], PERIOD[0]),  # reversed
        (world.alice, world.ward, *PERIOD),  # a learner
    ]
    for user, department, start, end in refusals:
        with pytest.raises(evidence.EvidenceRefused):
            ask(user, department, start, end)
    assert not EvidencePack.objects.exists()
    expire(world.surveyor)
    with pytest.raises(evidence.EvidenceRefused):
        ask(world.surveyor, world.ward, *PERIOD)
    SurveyorScope.objects.filter(user=world.surveyor).update(expires_at=datetime(2030, 4, 1, tzinfo=UTC))
    pack = ask(world.surveyor, world.ward, *PERIOD)
    assert (pack.status, pack.department, pack.requested_by) == (
        EvidencePack.Status.QUEUED,
        world.ward,
        world.surveyor,
    )


def read_zip(pack) -> dict[str, bytes]:
    with pack.file.open("rb") as handle, zipfile.ZipFile(io.BytesIO(handle.read())) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_the_evidence_pack_matches_the_database(world, tmp_path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the Celery task, eager
        pack = evidence.request_pack(
            requested_by=world.surveyor, department_id=world.ward.pk, date_from=PERIOD[0], date_to=PERIOD[1]
        )
    pack.refresh_from_db()
    assert pack.status == EvidencePack.Status.DONE and pack.percent == 100
    assert pack.steps_done == pack.steps_total == 5  # 4 files + 1 certificate
    files = read_zip(pack)

    in_pack = list(
        Enrollment.objects.filter(
            user__department=world.ward, enrolled_at__date__gte=PERIOD[0]
        ).select_related("user", "course", "version")
    )
    assert {e.user for e in in_pack} == {world.alice, world.bob}  # Dave's records are from 2028
    certs = list(Certificate.objects.filter(enrollment__in=in_pack))
    assert [c.user for c in certs] == [world.alice]
    expected_names = {
        "summary.pdf",
        "completions.csv",
        "skill-signoffs.csv",
        "audit-chain-verification.txt",
        "audit-checkpoints.jsonl",
        "MANIFEST.sha256",
    } | {f"certificates/{c.number}.pdf" for c in certs}
    assert set(files) == expected_names

    # The manifest: every other file, with its SHA-256.
    manifest = dict(
        reversed(line.split("  ", 1)) for line in files["MANIFEST.sha256"].decode().splitlines() if line
    )
    assert set(manifest) == expected_names - {"MANIFEST.sha256"}
    for name, digest in manifest.items():
        assert hashlib.sha256(files[name]).hexdigest() == digest, name

    chain = files["audit-chain-verification.txt"].decode()
    assert "result: OK" in chain and "audit chain intact" in chain

    # completions.csv: one row per enrollment of the department in the period, as in the database.
    header, *rows = csv_rows(files["completions.csv"])
    assert header[:3] == ["Employee id", "Name", "Course"]
    col = {name: i for i, name in enumerate(header)}
    got = {
        (r[col["Employee id"]], r[col["Name"]], r[col["Version"]], r[col["Status"]], r[col["Due date"]])
        + (r[col["Completed at"]], r[col["Certificate"]], r[col["Medical reviewer"]], r[col["Review date"]])
        for r in rows
    }
    expected = {
        (
            e.user.employee_id,
            e.user.get_full_name(),
            str(e.version.number),
            e.get_status_display(),
            e.due_date.isoformat() if e.due_date else "",
            e.completed_at.isoformat() if e.completed_at else "",
            ", ".join(c.number for c in certs if c.enrollment_id == e.pk),
            e.version.medical_reviewer,
            e.version.medical_review_date.isoformat(),
        )
        for e in in_pack
    }
    assert got == expected and len(rows) == len(in_pack)
    assert {r[col["Course"]] for r in rows} == {world.tiny.course.title}

    # Certificate PDFs: the department's certificates of the period, each for its holder.
    for cert in certs:
        text = pdf_text(files[f"certificates/{cert.number}.pdf"], tmp_path)
        assert squeezed(cert.number) in squeezed(text) and squeezed("Alice Able") in squeezed(text)

    # skill-signoffs.csv: the sign-offs of those enrollments.
    header, *rows = csv_rows(files["skill-signoffs.csv"])
    assert header == ["Employee id", "Name", "Skill", "Observed on", "Observer", "Notes", "Recorded at"]
    signoffs = SkillSignoff.objects.filter(enrollment__in=in_pack).select_related("enrollment__user", "skill")
    assert rows == [
        [
            s.enrollment.user.employee_id,
            s.enrollment.user.get_full_name(),
            s.skill.title,
            s.observed_on.isoformat(),
            str(s.observer),
            s.notes,
            s.signed_at.isoformat(),
        ]
        for s in signoffs
    ]
    assert len(rows) == 1 and rows[0][0] == "E-100"

    # summary.pdf: per course version with its medical review; who is required, completed, overdue.
    summary = pdf_text(files["summary.pdf"], tmp_path)
    assert "Training evidence: Residential ward" in summary
    assert f"{world.tiny.course.title}, version 1" in summary
    assert "Medical review: Dr Test Reviewer, 15 January 2030" in summary
    assert re.search(r"required 2 \W completed 1 \W overdue 1", summary), summary
    assert "1 certificate, 1 skill sign-off" in summary and "audit chain intact" in summary
    assert re.search(r"Alice Able E-100 completed", summary) and re.search(
        r"Bob Brown E-101 overdue", summary
    )
    assert "Carol" not in summary and "Dave" not in summary

    # No answer data anywhere: no question text, choice, feedback, explanation or score.
    texts = {
        name: (pdf_text(data, tmp_path) if name.endswith(".pdf") else data.decode("utf-8-sig"))
        for name, data in files.items()
    }
    forbidden = set(Question.objects.values_list("stem", flat=True))
    forbidden |= set(Question.objects.values_list("explanation", flat=True))
    forbidden |= set(Question.objects.values_list("key", flat=True))
    forbidden |= {t for t in Choice.objects.values_list("text", flat=True) if len(t) >= 8}
    forbidden |= {f for f in Choice.objects.values_list("feedback", flat=True) if f}
    for name, text in texts.items():
        leaked = [s for s in forbidden if s in text]
        assert leaked == [], (name, leaked[:3])
        assert "score" not in text.lower() and "answer" not in text.lower().replace("answers", ""), name


def test_the_management_command_writes_the_same_pack(world, tmp_path):
    out = tmp_path / "pack.zip"
    call_command(
        "evidence_pack",
        "--department",
        "ward",
        "--from",
        "2030-01-01",
        "--to",
        "2030-03-31",
        "--out",
        str(out),
        "--as-user",
        "registrar",
        stdout=io.StringIO(),
    )
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        completions = csv_rows(archive.read("completions.csv"))
    assert f"certificates/{world.certificates[world.alice].number}.pdf" in names
    assert {"summary.pdf", "MANIFEST.sha256", "skill-signoffs.csv"} <= names
    assert sorted(r[1] for r in completions[1:]) == ["Alice Able", "Bob Brown"]


def test_the_evidence_page_flow_for_a_surveyor(world, client, django_capture_on_commit_callbacks):
    others = evidence.request_pack(
        requested_by=world.admin, department_id=world.ward.pk, date_from=PERIOD[0], date_to=PERIOD[1]
    )
    client.force_login(world.surveyor)
    form = client.get(reverse("frontend:team_evidence")).content.decode()
    assert "Residential ward" in form and "Detox unit" not in form

    # Requested but not yet built: the page polls and shows the bar at 0.
    waiting = evidence.request_pack(
        requested_by=world.surveyor, department_id=world.ward.pk, date_from=PERIOD[0], date_to=PERIOD[1]
    )
    status = client.get(reverse("frontend:team_evidence_pack", args=[waiting.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in status and '<progress value="0"' in status
    assert client.get(reverse("frontend:team_evidence_download", args=[waiting.pk])).status_code == 404

    data = {"department": world.ward.pk, "date_from": "2030-01-01", "date_to": "2030-03-31"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("frontend:team_evidence"), data)
    pack = EvidencePack.objects.filter(requested_by=world.surveyor).latest("pk")
    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:team_evidence_pack", args=[pack.pk])
    partial = client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert '<progress value="100"' in partial and "hx-trigger" not in partial
    download_url = reverse("frontend:team_evidence_download", args=[pack.pk])
    assert download_url in partial

    download = client.get(download_url)
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    body = b"".join(download.streaming_content)
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert "summary.pdf" in archive.namelist() and archive.testzip() is None
    assert download_url in opened_paths(world.surveyor)  # the file she opened is in the audit log

    # Someone else's pack: the same answer as a missing one.
    assert client.get(reverse("frontend:team_evidence_pack", args=[others.pk])).status_code == 404
    assert client.get(reverse("frontend:team_evidence_download", args=[others.pk])).status_code == 404
    # A learner has no evidence page at all.
    client.force_login(world.alice)
    assert client.get(reverse("frontend:team_evidence")).status_code == 404
