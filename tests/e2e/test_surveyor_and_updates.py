"""Issue 11 in the browser: a surveyor builds and downloads an evidence pack (with its progress bar), and a
certified learner does a clinical update (reads the changed lesson, passes the update quiz) in the UI.

The demo users come from seed_demo (no content); a tiny course written to tmp_path is loaded, and the
demo learner completes it through the services and gets a certificate before the browser starts."""

import io
import re
import zipfile
from datetime import date

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from core.models import AuditEvent
from courses.evidence import services as evidence
from courses.models import Certificate, Enrollment, EvidencePack
from tests.beyond_helpers import certify, load, new_review, rewrite_lesson, write_course

from .conftest import axe_violations, screenshot
from .test_learner_journey import PASSWORD, log_in, take_quiz

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SLUG = "naloxone-refresher"


@pytest.fixture
def certified(settings, monkeypatch, tmp_path):
    """The demo users, a tiny course (no CE hours), and the demo learner certified on version 1."""
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    call_command("seed_demo", "--no-content", stdout=io.StringIO())
    tiny = load(write_course(tmp_path, slug=SLUG, ce_hours=0, with_final=False))
    learner = User.objects.get(username="learner")
    certificate = certify(learner, tiny)
    return tiny, learner, certificate


def check_accessibility(page, name: str) -> None:
    screenshot(page, name)
    violations = axe_violations(page)
    assert violations == [], f"axe found serious/critical violations on {name}: {violations}"


def test_surveyor_builds_and_downloads_an_evidence_pack(live_server, browser_page, certified, tmp_path):
    page, base = browser_page, live_server.url
    _, learner, certificate = certified
    surveyor = User.objects.get(username="surveyor")
    log_in(page, base, "surveyor")

    page.goto(f"{base}/team/")
    assert page.get_by_text(learner.get_full_name()).count() >= 1
    page.click("text=Evidence packs")
    page.wait_for_url(f"{base}/team/evidence/")
    check_accessibility(page, "team-evidence")
    assert page.locator("select[name=department] option").all_inner_texts() == [learner.department.name]

    # Build through the form: the task runs eagerly, so the progress page shows it done.
    page.click("button:has-text('Build the evidence pack')")
    page.wait_for_url(re.compile(r"/team/evidence/\d+/$"))
    check_accessibility(page, "team-evidence-pack")
    assert page.locator("progress").get_attribute("value") == "100"
    with page.expect_download() as info:
        page.click("text=Download the ZIP")
    download = info.value
    archive_path = tmp_path / "downloaded.zip"
    download.save_as(archive_path)
    with zipfile.ZipFile(archive_path) as archive:
        names = set(archive.namelist())
        completions = archive.read("completions.csv").decode("utf-8-sig")
    assert {
        "summary.pdf",
        "completions.csv",
        "MANIFEST.sha256",
        f"certificates/{certificate.number}.pdf",
    } <= names
    assert learner.get_full_name() in completions
    href = page.locator("a:has-text('Download the ZIP')").get_attribute("href")
    response = page.request.get(f"{base}{href}")
    assert response.status == 200 and response.headers["content-type"] == "application/zip"
    assert response.body()[:4] == b"PK\x03\x04"

    # A pack still queued: the bar polls and turns into the download link when the worker finishes.
    queued = EvidencePack.objects.create(
        requested_by=surveyor,
        department=learner.department,
        date_from=date(timezone.localdate().year, 1, 1),
        date_to=timezone.localdate(),
        created_at=timezone.now(),
    )
    page.goto(f"{base}/team/evidence/{queued.pk}/")
    assert page.locator("progress").get_attribute("value") == "0"
    assert page.get_by_text("Queued").count() == 1
    evidence.build_pack(pack_id=queued.pk)
    page.wait_for_selector("text=Download the ZIP", timeout=10000)
    assert page.locator("progress").get_attribute("value") == "100"

    opened = [e.data["path"] for e in AuditEvent.objects.filter(action="surveyor.opened", actor=surveyor)]
    assert "/team/" in opened and href in opened


def test_certified_learner_does_the_clinical_update_in_the_browser(live_server, browser_page, certified):
    page, base = browser_page, live_server.url
    tiny, learner, certificate = certified
    key = rewrite_lesson(tiny.path, "ma", 1, extra="New: a second spray after 2-3 minutes.", significant=True)
    new_review(tiny.path, timezone.localdate())
    v2 = load(tiny.path)
    update = Enrollment.objects.get(user=learner, kind=Enrollment.Kind.UPDATE)
    assert update.update_lesson_keys == [key] and update.version == v2.version

    log_in(page, base, "learner")
    title = f"Clinical update: {tiny.course.title}"
    page.click(f"text={title}")
    page.wait_for_url(f"{base}/updates/{update.pk}/")
    check_accessibility(page, "clinical-update")
    assert page.get_by_text("your certificate stays valid until then").count() == 1
    assert page.locator(".lesson-list li").count() == 1  # only the changed lesson
    page.click("text=Start the update: Lesson 1 of ma")
    assert "New: a second spray" in page.content()
    page.click("#mark-read:has-text('Mark as read and take the update quiz')")
    page.wait_for_url(f"{base}/quizzes/{update.update_quiz_id}/")
    page.click("button:has-text('Start the quiz')")
    page.wait_for_url(re.compile(r"/attempts/\d+/"))
    take_quiz(page, correctly=True)
    page.click("#submit-attempt")
    assert page.get_by_text("Passed.", exact=True).count() == 1

    update.refresh_from_db()
    certificate.refresh_from_db()
    assert update.status == Enrollment.Status.COMPLETED
    assert certificate.update_due is None
    assert Certificate.objects.filter(user=learner).count() == 1
    page.goto(f"{base}/")
    assert page.get_by_text(title).count() == 0
    page.goto(f"{base}/transcript/")
    assert page.get_by_text(title).count() == 1
