"""Finding 3 (issue 24): a surveyor's date range applied only to evidence packs. With a scope of
2020-01-01..2020-03-31 the team-progress API and the person page showed current enrollments and an
accommodation reason. Now every list, report, export and person page a surveyor reaches filters records
by the one window (accounts.access.record_window, courses.scope.in_window)."""

import csv
from datetime import date, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from courses.assignments import overrides
from courses.models import Enrollment
from courses.reports import exports
from courses.reports import selectors as reports
from tests.security.roles import make_org

pytestmark = pytest.mark.django_db

REASON = "ACCOMMODATION-REASON dyslexia, extra time"
OLD_REASON = "OLD-REASON-2020 shift change"


@pytest.fixture
def org(tmp_path):
    org = make_org(tmp_path)
    scope = org.surveyor.surveyor_scope
    scope.records_from, scope.records_to = date(2020, 1, 1), date(2020, 3, 31)
    scope.save()
    # today's enrollments (from make_org) get an accommodation; a 2020 one is in range
    current = Enrollment.objects.get(user=org.learner)
    overrides.grant_override(
        granted_by=org.admin,
        person_id=org.learner.pk,
        kind="extra_attempt",
        quiz_id=org.tiny.modules[0].quiz.pk,
        reason=REASON,
    )
    overrides.grant_override(
        granted_by=org.admin,
        person_id=org.learner.pk,
        kind="due_date_extension",
        enrollment_id=current.pk,
        new_due_date=timezone.localdate() + timedelta(days=400),
        reason=REASON,
    )
    in_2020 = timezone.make_aware(datetime(2020, 2, 10, 9, 0))  # noqa: DTZ001 - made aware in the organisation zone
    Enrollment.objects.filter(user=org.other).update(enrolled_at=in_2020, due_date=date(2020, 3, 1))
    overrides.grant_override(
        granted_by=org.admin,
        person_id=org.other.pk,
        kind="due_date_extension",
        enrollment_id=Enrollment.objects.get(user=org.other).pk,
        new_due_date=date(2020, 3, 20),
        reason=OLD_REASON,
        now=in_2020 + timedelta(days=1),
    )
    return org


def surveyor_api(org):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {org.tokens['surveyor']}")
    return api


def test_finding3_team_progress_api_shows_only_records_in_the_range(org):
    body = surveyor_api(org).get(f"/api/v1/reports/team-progress/?course={org.tiny.course.slug}").json()
    rows = {row["person"]["username"]: row for row in body["results"]}
    assert rows["lea"]["status"] is None and rows["lea"]["cells"] == {}  # enrolled today: out of range
    assert rows["oth"]["status"] == "not_started"  # enrolled February 2020: in range
    # the admin, with no window, sees both
    admin = APIClient()
    admin.force_authenticate(org.admin)
    rows = {r["person"]["username"]: r for r in admin.get("/api/v1/reports/team-progress/").json()["results"]}
    assert rows["lea"]["status"] == "not_started"


def test_finding3_person_page_hides_records_outside_the_range(org):
    client = Client()
    client.force_login(org.surveyor)
    page = client.get(f"/team/people/{org.learner.pk}/").content.decode()
    assert REASON not in page
    assert org.tiny.course.title not in page  # the current enrollment is outside the range
    other = client.get(f"/team/people/{org.other.pk}/").content.decode()
    assert OLD_REASON in other and org.tiny.course.title in other
    admin = Client()
    admin.force_login(org.admin)
    assert REASON in admin.get(f"/team/people/{org.learner.pk}/").content.decode()


def test_finding3_lists_reports_and_exports_use_the_window(org):
    Enrollment.objects.filter(user=org.learner).update(due_date=timezone.localdate() - timedelta(days=3))
    overdue = surveyor_api(org).get("/api/v1/reports/overdue/").json()["results"]
    assert [row["person"]["username"] for row in overdue] == ["oth"]  # lea's overdue enrollment is 2026
    admin_overdue = reports.overdue_enrollments(org.admin)
    assert sorted(e.user.username for e in admin_overdue) == ["lea", "oth"]
    # the matrix CSV export: lea's current enrollment is "not assigned" for the surveyor
    job = exports.request_export(
        requested_by=org.surveyor, kind="matrix", params={"course": org.tiny.course.slug}
    )
    exports.run_export(job_id=job.pk)
    job.refresh_from_db()
    with job.file.open("rb") as handle:
        rows = list(csv.reader(handle.read().decode("utf-8-sig").splitlines()))
    status = {row[1]: row[4] for row in rows[1:]}
    assert status[org.learner.get_full_name()] == "not assigned"
    assert status[org.other.get_full_name()] == "overdue"
    overdue_job = exports.request_export(requested_by=org.surveyor, kind="overdue", params={})
    exports.run_export(job_id=overdue_job.pk)
    overdue_job.refresh_from_db()
    with overdue_job.file.open("rb") as handle:
        text = handle.read().decode("utf-8-sig")
    assert org.learner.get_full_name() not in text and org.other.get_full_name() in text
    # completions over time: nothing completed in early 2020
    Enrollment.objects.filter(user=org.learner).update(status="completed", completed_at=timezone.now())
    assert reports.completions_by_week(org.surveyor)["overall"] == []
    assert sum(reports.completions_by_week(org.admin)["overall"]) == 1
    client = Client()
    client.force_login(org.surveyor)
    assert client.get("/team/overdue/").status_code == 200
    assert org.learner.get_full_name() not in client.get("/team/overdue/").content.decode()
