"""The supervisor dashboard and reports (issue 9): who sees whom (a permission matrix of role x endpoint
x object owner with zero leaks), bad sort and filter values, escaping in pages and CSV, overrides,
reminders, exports, completions per week, constant query counts, and the demo organisation generator.

The organisation of most tests (fixture `org`), two departments:

    Ward A: sup (supervisor) -> lead (supervisor) -> indirect
                             -> direct, learner
            dept_admin (department admin of Ward A)
    Ward B: other_sup (supervisor) -> outsider
    nowhere: admin, surveyor (no scope), surveyor_scoped (scope: Ward B)

The five "tracked" people (lead, direct, indirect, learner, outsider) are enrolled in a tiny course,
overdue, and have one submitted attempt with answers on the first module quiz.
"""

import csv
import html
import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role, SurveyorScope, User
from core.models import AuditEvent
from courses import scope as course_scope
from courses.assignments import overrides, reminders
from courses.enrollment import services
from courses.management.commands import generate_demo_org
from courses.models import Course, Enrollment, EnrollmentOverride, ExportJob, Notification
from courses.reports import exports
from courses.reports import selectors as reports
from quizzes import services as quiz_services
from quizzes.errors import AttemptLimitReached, CoolingDown
from quizzes.models import Answer, Attempt, QuizOverride
from tests.course_helpers import load_tiny, read_all_lessons, take_quiz, write_tiny_course
from tests.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db

MODULE_QUIZ = {"attempt_limit": 1, "cooldown_minutes": 60, "time_limit_minutes": 10}
FINAL_EXAM = {"attempt_limit": None, "cooldown_minutes": 60, "time_limit_minutes": 10}
TRACKED = ("lead", "direct", "indirect", "learner", "outsider")
LAST_NAMES = {
    "admin": "Adminova",
    "sup": "Topsuper",
    "lead": "Leadlow",
    "direct": "Directa",
    "indirect": "Indirecto",
    "learner": "Learnwell",
    "other_sup": "Othersup",
    "outsider": "Outsidero",
    "dept_admin": "Deptadmo",
    "surveyor": "Surveynone",
    "surveyor_scoped": "Surveyscope",
}
# viewer -> who they may report on (by fixture name); None: everyone. Surveyors are not staff
# (accounts.models.staff_members): nobody reports on them, not even an admin.
SCOPES = {
    "admin": {"admin", "sup", "lead", "direct", "indirect", "learner", "other_sup", "outsider", "dept_admin"},
    "sup": {"lead", "direct", "indirect", "learner"},
    "other_sup": {"outsider"},
    "dept_admin": {"sup", "lead", "direct", "indirect", "learner", "dept_admin"},
    "surveyor_scoped": {"other_sup", "outsider"},
    "surveyor": set(),
    "learner": set(),
}
ANSWER_VIEWERS = {"admin", "sup", "other_sup", "dept_admin"}  # may see attempts and answers
REPORT_VIEWERS = ("admin", "sup", "other_sup", "dept_admin", "surveyor_scoped")
HOSTILE_SCRIPT = '<script>alert("pwn")</script>'
HOSTILE_FORMULA = '=HYPERLINK("http://x")'


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()  # the rate limiter lives in the (locmem) cache, shared by every test in the process
    yield
    cache.clear()


def today() -> date:
    return timezone.localdate()


def enrol_overdue(user, tiny, *, correct: bool, days_overdue: int = 5) -> tuple[Enrollment, Attempt]:
    enrollment, _ = services.enroll(
        user=user, course=tiny.course, due_date=today() - timedelta(days=days_overdue)
    )
    for lesson_id in tiny.modules[0].lessons.values_list("pk", flat=True):
        services.complete_lesson(user=user, lesson_id=lesson_id)
    attempt = take_quiz(user, tiny.modules[0].quiz, tiny.specs, correct=correct)
    enrollment.refresh_from_db()
    return enrollment, attempt


def build_org(path) -> SimpleNamespace:
    tiny = load_tiny(path, quiz=MODULE_QUIZ, final=FINAL_EXAM)
    ward_a = DepartmentFactory(name="Ward A", code="ward-a")
    ward_b = DepartmentFactory(name="Ward B", code="ward-b")

    def person(name, role=Role.LEARNER, department=None, supervisor=None):
        return UserFactory(
            username=name,
            first_name="Quill",
            last_name=LAST_NAMES[name],
            role=role,
            department=department,
            supervisor=supervisor,
        )

    users = {}
    users["admin"] = person("admin", Role.ADMIN)
    users["sup"] = person("sup", Role.SUPERVISOR, ward_a)
    users["lead"] = person("lead", Role.SUPERVISOR, ward_a, users["sup"])
    users["direct"] = person("direct", Role.LEARNER, ward_a, users["sup"])
    users["indirect"] = person("indirect", Role.LEARNER, ward_a, users["lead"])
    users["learner"] = person("learner", Role.LEARNER, ward_a, users["sup"])
    users["other_sup"] = person("other_sup", Role.SUPERVISOR, ward_b)
    users["outsider"] = person("outsider", Role.LEARNER, ward_b, users["other_sup"])
    users["dept_admin"] = person("dept_admin", Role.DEPARTMENT_ADMIN, ward_a)
    users["surveyor"] = person("surveyor", Role.SURVEYOR)
    users["surveyor_scoped"] = person("surveyor_scoped", Role.SURVEYOR)
    scope = SurveyorScope.objects.create(
        user=users["surveyor_scoped"],
        records_from=today() - timedelta(days=365),
        records_to=today(),
        expires_at=timezone.now() + timedelta(days=7),
    )
    scope.departments.add(ward_b)
    enrollments, attempts = {}, {}
    for name in TRACKED:
        enrollments[name], attempts[name] = enrol_overdue(users[name], tiny, correct=name != "direct")
    return SimpleNamespace(
        version_id=tiny.version.pk,
        specs=tiny.specs,
        users={n: u.pk for n, u in users.items()},
        enrollments={n: e.pk for n, e in enrollments.items()},
        attempts={n: a.pk for n, a in attempts.items()},
        departments=(ward_a.pk, ward_b.pk),
    )


@pytest.fixture(scope="module")
def org_data(django_db_setup, django_db_blocker, tmp_path_factory):
    """The organisation, built once for the module inside a transaction rolled back at its end; every
    test runs in a savepoint inside it (pytest-django), so each test starts from the same data."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield build_org(tmp_path_factory.mktemp("org"))
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def org(org_data, db):
    """Fresh instances of the module's organisation for one test."""
    from courses.models import CourseVersion

    version = CourseVersion.objects.select_related("course", "final_exam").get(pk=org_data.version_id)
    modules = list(version.modules.select_related("quiz").order_by("position"))
    users = User.objects.in_bulk(list(org_data.users.values()))
    enrollments = Enrollment.objects.in_bulk(list(org_data.enrollments.values()))
    attempts = Attempt.objects.in_bulk(list(org_data.attempts.values()))
    departments = {d.pk: d for d in DepartmentFactory._meta.model.objects.filter(pk__in=org_data.departments)}
    return SimpleNamespace(
        tiny=SimpleNamespace(course=version.course, version=version, modules=modules, specs=org_data.specs),
        quiz=modules[0].quiz,
        users={n: users[pk] for n, pk in org_data.users.items()},
        enrollments={n: enrollments[pk] for n, pk in org_data.enrollments.items()},
        attempts={n: attempts[pk] for n, pk in org_data.attempts.items()},
        ward_a=departments[org_data.departments[0]],
        ward_b=departments[org_data.departments[1]],
    )


def in_scope(viewer: str, name: str) -> bool:
    scope = SCOPES[viewer]
    return scope is None or name in scope


def body(response) -> str:
    return html.unescape(response.content.decode())


def full_name(name: str) -> str:
    return f"Quill {LAST_NAMES[name]}"


def assert_no_leak(text: str, viewer: str, *, where: str) -> None:
    for name in TRACKED:
        if not in_scope(viewer, name):
            assert LAST_NAMES[name] not in text, f"{where}: {viewer} sees out-of-scope {name}"


def team_urls(org, job_id: int) -> list[str]:
    """Every /team/ route of the frontend, with real ids filled in."""
    from frontend import urls as frontend_urls

    values = {
        "person_id": org.users["direct"].pk,
        "enrollment_id": org.enrollments["direct"].pk,
        "skill_id": 1,
        "quiz_id": org.quiz.pk,
        "kind": "matrix",
        "job_id": job_id,
        "pack_id": 1,
        "attempt_id": Attempt.objects.filter(user=org.users["direct"]).values_list("pk", flat=True).first(),
    }
    urls = []
    for pattern in frontend_urls.urlpatterns:
        route = str(pattern.pattern)
        if route.startswith("team/"):
            urls.append("/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route))
    return urls


def report_api_urls(org) -> list[str]:
    from courses import urls as course_urls

    urls = []
    for pattern in course_urls.urlpatterns:
        route = str(pattern.pattern)
        if route.startswith("reports/"):
            urls.append("/api/v1/" + route.replace("<int:quiz_id>", str(org.quiz.pk)))
    return urls


# --- the permission matrix ---------------------------------------------------------------------------


def test_the_route_lists_cover_every_report_page_and_endpoint(org):
    pages = team_urls(org, job_id=1)
    for expected in ("/team/", "/team/overdue/", "/team/completions/", "/team/quizzes/", "/team/signoffs/"):
        assert expected in pages
    assert f"/team/people/{org.users['direct'].pk}/" in pages
    assert f"/team/quizzes/{org.quiz.pk}/" in pages
    assert set(report_api_urls(org)) == {
        "/api/v1/reports/team-progress/",
        "/api/v1/reports/overdue/",
        f"/api/v1/reports/item-analysis/{org.quiz.pk}/",
    }


@pytest.mark.parametrize("viewer", REPORT_VIEWERS)
def test_permission_matrix_pages_and_api_show_exactly_the_viewers_people(client, org, viewer):
    user = org.users[viewer]
    client.force_login(user)
    scope = SCOPES[viewer]
    visible_users = {n for n in org.users if scope is None or n in scope}
    tracked_visible = {n for n in TRACKED if in_scope(viewer, n)}

    for url in ("/team/", "/team/overdue/", "/team/completions/"):
        response = client.get(url)
        assert response.status_code == 200, url
        text = body(response)
        assert_no_leak(text, viewer, where=url)
        if url != "/team/completions/":
            for name in tracked_visible:
                assert full_name(name) in text, f"{url}: {viewer} should see {name}"

    team = client.get("/api/v1/reports/team-progress/")
    assert team.status_code == 200
    ids = {row["person"]["id"] for row in team.json()["results"]}
    assert ids == {org.users[n].pk for n in visible_users}
    assert team.json()["count"] == len(visible_users)

    overdue = client.get("/api/v1/reports/overdue/")
    assert overdue.status_code == 200
    assert {row["person"]["id"] for row in overdue.json()["results"]} == {
        org.users[n].pk for n in tracked_visible
    }

    missing = client.get("/team/people/987654321/")
    assert missing.status_code == 404
    for name, person in org.users.items():
        response = client.get(f"/team/people/{person.pk}/")
        if name in visible_users:
            assert response.status_code == 200, f"{viewer} should open {name}"
            assert_no_leak(body(response), viewer, where=f"person {name}")
        else:
            assert response.status_code == 404, f"{viewer} must not open {name}"
            assert response.content == missing.content  # the same answer as an id that does not exist

    stats = client.get(f"/team/quizzes/{org.quiz.pk}/")
    analysis = client.get(f"/api/v1/reports/item-analysis/{org.quiz.pk}/")
    if viewer in ANSWER_VIEWERS:
        assert stats.status_code == 200
        assert f"First attempts of your staff only: {len(tracked_visible)} " in body(stats)
        assert analysis.status_code == 200
        assert analysis.json()["attempts"] == len(tracked_visible)
        assert client.get("/team/quizzes/").status_code == 200
    else:
        assert (stats.status_code, analysis.status_code) == (404, 404)
        assert client.get("/team/quizzes/").status_code == 404


@pytest.mark.parametrize("viewer", ["learner", "surveyor", "anonymous"])
def test_learners_unscoped_surveyors_and_strangers_get_nothing_from_any_report_route(client, org, viewer):
    job = exports.request_export(requested_by=org.users["sup"], kind="matrix", params={})
    for url in team_urls(org, job.pk) + report_api_urls(org):
        if viewer != "anonymous":
            client.force_login(org.users[viewer])  # an unscoped surveyor is logged out by each request
        response = client.get(url)
        method = "GET"
        if response.status_code == 405:
            if viewer != "anonymous":
                client.force_login(org.users[viewer])
            response, method = client.post(url), "POST"
        text = body(response)
        for name in TRACKED:
            assert LAST_NAMES[name] not in text, f"{method} {url} leaks {name} to {viewer}"
        if viewer == "learner":
            assert response.status_code == 404, f"{method} {url}: {response.status_code}"
        elif viewer == "surveyor":
            # no scope: the session ends at once (accounts.auth), and the scope is empty anyway
            assert response.status_code in (302, 404), f"{method} {url}: {response.status_code}"
        elif url.startswith("/api/"):
            assert response.status_code in (401, 403, 404), url
        else:
            assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    assert course_scope.visible_staff(org.users["learner"]).count() == 0
    assert course_scope.visible_staff(org.users["surveyor"]).count() == 0


def test_an_expired_surveyor_scope_sees_nobody(org):
    scope = org.users["surveyor_scoped"].surveyor_scope
    assert set(course_scope.visible_staff(org.users["surveyor_scoped"])) == {
        org.users["other_sup"],
        org.users["outsider"],
    }
    scope.expires_at = timezone.now() - timedelta(seconds=1)
    scope.save(update_fields=["expires_at"])
    assert course_scope.visible_staff(org.users["surveyor_scoped"]).count() == 0


def test_surveyors_see_completion_records_but_never_answers(client, org):
    outsider = org.users["outsider"]
    client.force_login(org.users["other_sup"])
    supervisor_view = body(client.get(f"/team/people/{outsider.pk}/"))
    question_key = next(k for k in org.tiny.specs if k.endswith("-ma-single"))
    assert "Attempts" in supervisor_view and question_key in supervisor_view  # the test can fail

    client.force_login(org.users["surveyor_scoped"])
    page = client.get(f"/team/people/{outsider.pk}/")
    assert page.status_code == 200
    text = body(page)
    assert "Tiny course tiny-course" in text  # the enrollment (completion record) is there
    assert "<h2>Attempts</h2>" not in text
    assert question_key not in text
    for answer in Answer.objects.filter(attempt__user=outsider):
        assert answer.reason not in text
    assert "Grant an override" not in text
    overdue = body(client.get("/team/overdue/"))
    assert LAST_NAMES["outsider"] in overdue and "Send reminder" not in overdue
    assert client.get(f"/api/v1/reports/item-analysis/{org.quiz.pk}/").status_code == 404
    assert client.get(f"/team/quizzes/{org.quiz.pk}/").status_code == 404
    assert reports.person_detail(org.users["surveyor_scoped"], person_id=outsider.pk)["answers"] == {}


def test_surveyors_cannot_export_answers(client, org, django_capture_on_commit_callbacks):
    surveyor = org.users["surveyor_scoped"]
    with pytest.raises(exports.ExportRefused):
        exports.request_export(requested_by=surveyor, kind="answers", params={})
    client.force_login(surveyor)
    assert client.post("/team/exports/answers/").status_code == 404
    assert client.post("/team/exports/matrix/").status_code == 302  # completion records: allowed
    # a job that exists anyway (created before a role change) still writes no answers
    job = ExportJob.objects.create(kind="answers", requested_by=surveyor, created_at=timezone.now())
    exports.run_export(job_id=job.pk)
    assert read_export(job) == [["Not permitted"]]
    with django_capture_on_commit_callbacks(execute=True):
        job = exports.request_export(requested_by=org.users["other_sup"], kind="answers", params={})
    rows = read_export(job)
    assert len(rows) == 1 + Answer.objects.filter(attempt__user=org.users["outsider"]).count()


def test_grants_and_reminders_from_pages_respect_the_scope(client, org):
    direct = org.users["direct"]
    client.force_login(org.users["other_sup"])  # a supervisor, but not direct's
    response = client.post(
        f"/team/people/{direct.pk}/overrides/",
        {"kind": "exemption", "enrollment": org.enrollments["direct"].pk, "reason": "because"},
    )
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["No such person."]
    reminder = client.post(f"/team/overdue/{org.enrollments['direct'].pk}/remind/", HTTP_HX_REQUEST="true")
    assert "No such enrollment." in body(reminder)
    assert not EnrollmentOverride.objects.exists()
    assert not Notification.objects.exists()
    org.enrollments["direct"].refresh_from_db()
    assert org.enrollments["direct"].status != Enrollment.Status.EXEMPT


# --- bad sort and filter values ----------------------------------------------------------------------

HOSTILE_SORTS = ["password", "-id; DROP TABLE accounts_user", "user__password", "?", "email"]


@pytest.fixture
def order_by_spy(monkeypatch):
    seen: list[tuple] = []
    original_order_by = QuerySet.order_by

    def order_by(self, *fields):
        seen.append(fields)
        return original_order_by(self, *fields)

    def extra(self, *args, **kwargs):
        raise AssertionError(f"QuerySet.extra called: {args} {kwargs}")

    monkeypatch.setattr(QuerySet, "order_by", order_by)
    monkeypatch.setattr(QuerySet, "extra", extra)
    return seen


def _row_names(text: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/team/people/\d+/">([^<]+)</a>', text)


@pytest.mark.parametrize("sort", HOSTILE_SORTS)
def test_unknown_sort_keys_are_ignored_on_the_page_and_never_reach_order_by(client, org, order_by_spy, sort):
    client.force_login(org.users["sup"])
    default = client.get("/team/")
    order_by_spy.clear()
    response = client.get("/team/", {"sort": sort})
    assert response.status_code == 200
    assert "Ignored: sort (Unknown sort.)" in body(response)
    assert _row_names(body(response)) == _row_names(body(default))
    used = {str(f) for fields in order_by_spy for f in fields}
    assert sort not in used and not any("DROP" in f or "password" in f for f in used)


@pytest.mark.parametrize("sort", HOSTILE_SORTS)
def test_unknown_sort_keys_are_a_400_in_the_api_and_never_reach_order_by(client, org, order_by_spy, sort):
    client.force_login(org.users["sup"])
    order_by_spy.clear()
    response = client.get("/api/v1/reports/team-progress/", {"sort": sort})
    assert response.status_code == 400
    assert "sort" in response.json()["errors"]
    used = {str(f) for fields in order_by_spy for f in fields}
    assert sort not in used


def test_allow_listed_sorts_do_sort(client, org):
    client.force_login(org.users["sup"])
    names = _row_names(body(client.get("/team/", {"sort": "name"})))
    assert names == sorted(names, key=lambda n: n.split()[-1])
    assert _row_names(body(client.get("/team/", {"sort": "-name"}))) == names[::-1]
    api = client.get("/api/v1/reports/team-progress/", {"sort": "-name"}).json()
    assert [r["person"]["name"] for r in api["results"]] == names[::-1]


BAD_FILTERS = [
    {"status": "pwned"},
    {"role": "superuser"},
    {"department": "1 OR 1=1"},
    {"supervisor": "abc"},
    {"course": "no-such-course"},
    {"page": "two"},
]


@pytest.mark.parametrize("params", BAD_FILTERS)
def test_unknown_filter_values_are_ignored_on_pages_and_a_400_in_the_api(client, org, params):
    client.force_login(org.users["sup"])
    unfiltered = _row_names(body(client.get("/team/")))
    page = client.get("/team/", params)
    assert page.status_code == 200
    assert _row_names(body(page)) == unfiltered
    assert client.get("/api/v1/reports/team-progress/", params).status_code == 400


@pytest.mark.parametrize("params", [{"department": "abc"}, {"course": "no-such-course"}])
def test_bad_filter_values_on_the_overdue_api_are_a_400(client, org, params):
    client.force_login(org.users["sup"])
    assert client.get("/api/v1/reports/overdue/").json()["count"] == 4
    assert client.get("/api/v1/reports/overdue/", params).status_code == 400


def test_overdue_api_ignores_sort_parameters(client, org, order_by_spy):
    client.force_login(org.users["sup"])
    plain = client.get("/api/v1/reports/overdue/").json()["results"]
    order_by_spy.clear()
    for param in ("sort", "ordering", "order_by"):
        response = client.get("/api/v1/reports/overdue/", {param: "user__password"})
        assert response.status_code == 200 and response.json()["results"] == plain
    assert not any("password" in str(f) for fields in order_by_spy for f in fields)


def test_valid_filters_narrow_the_matrix(client, org):
    client.force_login(org.users["admin"])
    by_department = client.get("/api/v1/reports/team-progress/", {"department": org.ward_b.pk}).json()
    assert {r["person"]["username"] for r in by_department["results"]} == {"other_sup", "outsider"}
    overdue = client.get("/api/v1/reports/team-progress/", {"status": "overdue"}).json()
    assert {r["person"]["username"] for r in overdue["results"]} == set(TRACKED)
    subtree = client.get("/api/v1/reports/team-progress/", {"supervisor": org.users["lead"].pk}).json()
    assert {r["person"]["username"] for r in subtree["results"]} == {"indirect"}
    search = client.get("/team/", {"q": "Outsid"})
    assert _row_names(body(search)) == [full_name("outsider")]


# --- escaping --------------------------------------------------------------------------------------


@pytest.fixture
def hostile(org):
    """A person in sup's team whose names would run in a browser or a spreadsheet if not neutralised."""
    department = DepartmentFactory(name=f"{HOSTILE_SCRIPT} ward", code="hostile-ward")
    person = UserFactory(
        username="+cmd|calc",
        first_name=HOSTILE_SCRIPT,
        last_name="Xssington",
        employee_id="-2+3",
        department=department,
        supervisor=org.users["sup"],
    )
    enrollment, attempt = enrol_overdue(person, org.tiny, correct=True)
    # a completion too, so the department shows on the completions chart
    Enrollment.objects.filter(pk=org.enrollments["learner"].pk).update(
        status=Enrollment.Status.COMPLETED, completed_at=timezone.now()
    )
    User.objects.filter(pk=org.users["learner"].pk).update(department=department)
    formula = UserFactory(
        username="formula-person",
        first_name=HOSTILE_FORMULA,
        last_name="@SUM(1+1)",
        department=department,
        supervisor=org.users["sup"],
    )
    enrol_overdue(formula, org.tiny, correct=False)
    return SimpleNamespace(person=person, formula=formula, department=department, enrollment=enrollment)


def test_script_names_are_escaped_in_the_matrix_overdue_person_and_completions_pages(client, org, hostile):
    client.force_login(org.users["sup"])
    escaped = html.escape(HOSTILE_SCRIPT, quote=False)
    for url in ("/team/", "/team/overdue/", f"/team/people/{hostile.person.pk}/", "/team/completions/"):
        response = client.get(url)
        assert response.status_code == 200
        raw = response.content.decode()
        assert HOSTILE_SCRIPT not in raw, url
        assert "alert(" in raw, f"{url} does not show the name at all"
        if url != "/team/completions/":
            assert escaped in raw or html.escape(HOSTILE_SCRIPT) in raw, url
    chart = client.get("/team/completions/").content.decode()
    assert "\\u003Cscript\\u003Ealert" in chart  # json_script escapes the department name for the chart


@pytest.mark.parametrize(
    "value, expected",
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        (HOSTILE_FORMULA, "'" + HOSTILE_FORMULA),
        ("plain text", "plain text"),
        (" =not first", " =not first"),
        ("a=b", "a=b"),
        (None, ""),
        (42, "42"),
        (-3, "'-3"),
    ],
)
def test_neutralise(value, expected):
    assert exports.neutralise(value) == expected


def test_csv_lines_quote_and_neutralise_every_cell():
    lines = list(exports.csv_lines(iter([["a", '=x,"y"\nz', HOSTILE_SCRIPT], ["@", "", "ok"]])))
    rows = list(csv.reader(io.StringIO("".join(lines))))
    assert rows == [["a", '\'=x,"y"\nz', HOSTILE_SCRIPT], ["'@", "", "ok"]]


def read_export(job) -> list[list[str]]:
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE, job.error
    with job.file.open("rb") as handle:
        text = handle.read().decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@pytest.mark.parametrize("kind", sorted(exports.KINDS))
def test_every_export_kind_neutralises_hostile_cells(org, hostile, kind, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = exports.request_export(requested_by=org.users["sup"], kind=kind, params={})
    rows = read_export(job)
    header, data = rows[0], rows[1:]
    assert data, "the export is empty"
    for row in data:
        assert len(row) == len(header)
        for cell in row:
            assert not cell.startswith(FORMULA_START), f"{kind}: live formula cell {cell!r}"
    cells = {cell for row in data for cell in row}
    if kind == "answers":
        assert "'+cmd|calc" in cells and "'-2+3" in cells  # username and employee id of the person
        assert {row[1] for row in data} >= {"'+cmd|calc", "formula-person"}
    else:
        assert f"'{HOSTILE_FORMULA} @SUM(1+1)" in cells
        assert f"{HOSTILE_SCRIPT} Xssington" in cells  # CSV-quoted verbatim, one cell
        assert "'-2+3" in cells
        assert f"{HOSTILE_SCRIPT} ward" in cells
    assert LAST_NAMES["outsider"] not in " ".join(cells)  # not sup's


# --- exports: progress, ownership, the htmx partial ----------------------------------------------------


def test_export_job_page_polls_until_done_then_offers_the_download(
    client, org, django_capture_on_commit_callbacks
):
    client.force_login(org.users["sup"])
    response = client.post("/team/exports/overdue/")
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/team/exports/job/{job.pk}/"
    page = client.get(response["Location"])
    assert page.status_code == 200 and "<html" in page.content.decode()
    assert 'hx-trigger="every 1s"' in page.content.decode()

    ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.RUNNING, rows_total=200, rows_done=50)
    partial = client.get(f"/team/exports/job/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial
    assert f'hx-get="/team/exports/job/{job.pk}/"' in partial and 'hx-trigger="every 1s"' in partial
    assert '<progress value="25" max="100"' in partial and "50 of 200 rows" in partial
    assert client.get(f"/team/exports/job/{job.pk}/download/").status_code == 404  # not ready yet

    ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.QUEUED, rows_total=0, rows_done=0)
    exports.run_export(job_id=job.pk)
    job.refresh_from_db()
    assert job.rows_total == job.rows_done == 4  # sup's four overdue people
    partial = client.get(f"/team/exports/job/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in partial  # polling stops
    assert '<progress value="100"' in partial and f"/team/exports/job/{job.pk}/download/" in partial
    download = client.get(f"/team/exports/job/{job.pk}/download/")
    assert download.status_code == 200 and download["Content-Type"] == "text/csv"
    assert "attachment" in download["Content-Disposition"]
    assert LAST_NAMES["direct"] in b"".join(download.streaming_content).decode()


def test_export_progress_is_reported_while_rows_stream(org, monkeypatch):
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 2)
    seen = []
    original = exports.csv_lines

    def watching(rows):
        for line in original(rows):
            job = ExportJob.objects.get()
            seen.append((job.status, job.rows_done, job.rows_total))
            yield line

    monkeypatch.setattr(exports, "csv_lines", watching)
    job = exports.request_export(requested_by=org.users["admin"], kind="answers", params={})
    exports.run_export(job_id=job.pk)
    total = Answer.objects.count()
    assert seen[0] == ("running", 0, total)
    assert [done for _, done, _ in seen] == sorted(done for _, done, _ in seen)  # never goes back
    assert max(done for _, done, _ in seen) >= total - 2  # updated along the way, not only at the end
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.percent) == ("done", total, 100)


@pytest.mark.parametrize("other", ["admin", "other_sup", "dept_admin"])
def test_another_users_export_job_is_a_404(client, org, other, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = exports.request_export(requested_by=org.users["sup"], kind="matrix", params={})
    client.force_login(org.users[other])
    for url in (
        f"/team/exports/job/{job.pk}/",
        f"/team/exports/job/{job.pk}/download/",
    ):
        assert client.get(url).status_code == 404
        assert client.get(url, HTTP_HX_REQUEST="true").status_code == 404
    client.force_login(org.users["sup"])
    assert client.get(f"/team/exports/job/{job.pk}/download/").status_code == 200


def test_exports_refuse_unknown_kinds_and_keep_only_known_parameters(client, org):
    client.force_login(org.users["sup"])
    assert client.post("/team/exports/passwords/").status_code == 404
    job = exports.request_export(
        requested_by=org.users["sup"], kind="matrix", params={"sort": "-name", "evil": "x", "q": "y" * 500}
    )
    assert job.params == {"sort": "-name", "q": "y" * 100}
    with pytest.raises(exports.ExportRefused):
        exports.request_export(requested_by=org.users["learner"], kind="matrix", params={})


# --- overrides --------------------------------------------------------------------------------------


def grant(org, kind, *, by="sup", person="direct", reason="Accommodation agreed with HR.", **extra):
    return overrides.grant_override(
        granted_by=org.users[by], person_id=org.users[person].pk, kind=kind, reason=reason, **extra
    )


def test_extra_attempt_allows_exactly_one_more_attempt(org, clock):
    direct, quiz = org.users["direct"], org.quiz
    clock.advance(hours=2)  # past the cool-down: only the attempt limit stands in the way
    with pytest.raises(AttemptLimitReached):
        quiz_services.start_attempt(user=direct, quiz=quiz)
    override = grant(org, "extra_attempt", quiz_id=quiz.pk)
    attempt = take_quiz(direct, quiz, org.tiny.specs, correct=False)
    assert attempt.number == 2 and attempt.state == "submitted"
    clock.advance(hours=2)
    with pytest.raises(AttemptLimitReached):
        quiz_services.start_attempt(user=direct, quiz=quiz)
    event = AuditEvent.objects.get(action="override.extra_attempt")
    assert (event.actor_id, event.subject_user_id, event.target_id) == (
        org.users["sup"].pk,
        direct.pk,
        str(override.pk),
    )


def test_cooldown_reset_lets_the_learner_start_at_once(org):
    direct, final = org.users["direct"], org.tiny.version.final_exam
    read_all_lessons(direct, org.tiny.version)
    take_quiz(direct, final, org.tiny.specs, correct=False)
    with pytest.raises(CoolingDown):
        quiz_services.start_attempt(user=direct, quiz=final)
    grant(org, "cooldown_reset", quiz_id=final.pk)
    attempt, created = quiz_services.start_attempt(user=direct, quiz=final)
    assert created and attempt.number == 2
    assert AuditEvent.objects.filter(action="override.cooldown_reset", subject_user_id=direct.pk).count() == 1


def test_time_multiplier_extends_the_deadline(org, clock):
    indirect, quiz = org.users["indirect"], org.tiny.modules[1].quiz
    for lesson_id in org.tiny.modules[1].lessons.values_list("pk", flat=True):
        services.complete_lesson(user=indirect, lesson_id=lesson_id)
    grant(org, "time_multiplier", person="indirect", quiz_id=quiz.pk, value="1.5")
    attempt, _ = quiz_services.start_attempt(user=indirect, quiz=quiz)
    assert attempt.time_multiplier == Decimal("1.5")
    assert attempt.deadline == clock.now + timedelta(minutes=15)  # 10-minute limit x 1.5
    assert AuditEvent.objects.get(action="override.time_multiplier").data["value"] == "1.5"


def test_due_date_extension_clears_the_overdue_flag(org, client):
    sup, direct = org.users["sup"], org.users["direct"]
    filters = reports.parse_filters({}, courses=[org.tiny.course])
    row = next(r for r in reports.team_matrix(sup, filters).rows if r.person == direct)
    assert row.overdue and direct in {e.user for e in reports.overdue_enrollments(sup)}
    new_due = today() + timedelta(days=14)
    client.force_login(sup)
    response = client.post(
        f"/team/people/{direct.pk}/overrides/",
        {
            "kind": "due_date_extension",
            "enrollment": org.enrollments["direct"].pk,
            "new_due_date": new_due.isoformat(),
            "reason": "Back from medical leave.",
        },
    )
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Override granted and recorded in the audit log."
    ]
    org.enrollments["direct"].refresh_from_db()
    assert org.enrollments["direct"].due_date == new_due
    row = next(r for r in reports.team_matrix(sup, filters).rows if r.person == direct)
    assert not row.overdue and "overdue" not in row.cells.values()
    assert direct not in {e.user for e in reports.overdue_enrollments(sup)}
    event = AuditEvent.objects.get(action="override.due_date_extension")
    assert event.data["new_due_date"] == new_due.isoformat() and event.actor_id == sup.pk


def test_exemption_marks_the_enrollment_exempt_in_the_matrix(org, client):
    sup, direct = org.users["sup"], org.users["direct"]
    grant(org, "exemption", enrollment_id=org.enrollments["direct"].pk)
    org.enrollments["direct"].refresh_from_db()
    assert org.enrollments["direct"].status == Enrollment.Status.EXEMPT
    matrix = reports.team_matrix(sup, reports.parse_filters({}, courses=[org.tiny.course]))
    row = next(r for r in matrix.rows if r.person == direct)
    assert set(row.cells.values()) == {"exempt"} and not row.overdue
    assert matrix.summary["exempt"] == 1
    client.force_login(sup)
    page = client.get("/team/", {"status": "exempt"}).content.decode()
    assert _row_names(html.unescape(page)) == [full_name("direct")]
    assert 'class="cell cell-exempt"' in page
    assert AuditEvent.objects.filter(action="override.exemption", subject_user_id=direct.pk).exists()


OVERRIDE_KINDS = {
    "extra_attempt": lambda org: {"quiz_id": org.quiz.pk},
    "cooldown_reset": lambda org: {"quiz_id": org.quiz.pk},
    "time_multiplier": lambda org: {"quiz_id": org.quiz.pk, "value": "1.5"},
    "due_date_extension": lambda org: {
        "enrollment_id": org.enrollments["direct"].pk,
        "new_due_date": today() + timedelta(days=10),
    },
    "exemption": lambda org: {"enrollment_id": org.enrollments["direct"].pk},
}


def _override_rows() -> int:
    return QuizOverride.objects.count() + EnrollmentOverride.objects.count()


@pytest.mark.parametrize("kind", sorted(OVERRIDE_KINDS))
def test_every_override_needs_a_reason_a_granter_in_charge_and_leaves_an_audit_record(org, kind):
    extra = OVERRIDE_KINDS[kind](org)
    before = AuditEvent.objects.count()
    for reason in ("", "   "):
        with pytest.raises(overrides.OverrideRefused) as refused:
            grant(org, kind, reason=reason, **extra)
        assert refused.value.field_errors.get("reason")
    for granter in ("other_sup", "learner", "surveyor_scoped", "surveyor"):
        with pytest.raises(overrides.OverrideRefused):
            grant(org, kind, by=granter, **extra)
    assert _override_rows() == 0 and AuditEvent.objects.count() == before
    granters = ("sup", "dept_admin", "admin") if kind in overrides.QUIZ_KINDS else ("dept_admin",)
    for granter in granters:
        grant(org, kind, by=granter, **extra)
    events = AuditEvent.objects.filter(action=f"override.{kind}")
    assert events.count() == _override_rows() >= 1
    assert all(e.subject_user_id == org.users["direct"].pk and e.data["reason"] for e in events)


def test_overrides_from_the_page_are_refused_for_learners(client, org):
    client.force_login(org.users["learner"])
    response = client.post(
        f"/team/people/{org.users['direct'].pk}/overrides/",
        {"kind": "exemption", "enrollment": org.enrollments["direct"].pk, "reason": "please"},
    )
    assert response.status_code == 404 and _override_rows() == 0


@pytest.mark.parametrize("value", ["NaN", "sNaN", "Infinity", "abc", "0.5", "5", ""])
def test_bad_time_multipliers_are_refused_with_a_message(client, org, value):
    client.force_login(org.users["sup"])
    response = client.post(
        f"/team/people/{org.users['direct'].pk}/overrides/",
        {"kind": "time_multiplier", "quiz": org.quiz.pk, "value": value, "reason": "Accommodation."},
    )
    assert response.status_code == 302
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert len(messages) == 1 and messages[0].startswith("Time multiplier must be"), messages
    assert _override_rows() == 0


def test_the_person_page_offers_every_quiz_of_the_persons_course_for_overrides(client, org):
    """The final exam has the attempt limit and the cool-down that overrides exist for."""
    client.force_login(org.users["sup"])
    text = body(client.get(f"/team/people/{org.users['direct'].pk}/"))
    options = re.findall(r'<option value="(\d+)">', text.split('id="quiz"')[1].split("</select>")[0])
    expected = {m.quiz_id for m in org.tiny.modules} | {org.tiny.version.final_exam_id}
    assert {int(o) for o in options} == expected


# --- reminders --------------------------------------------------------------------------------------


def test_reminders_are_refused_outside_the_scope_and_for_roles_without_it(org):
    enrollment = org.enrollments["direct"]
    for who in ("other_sup", "learner", "surveyor", "surveyor_scoped"):
        with pytest.raises(reminders.ReminderRefused):
            reminders.request_reminder(requested_by=org.users[who], enrollment_id=enrollment.pk)
    with pytest.raises(reminders.ReminderRefused):
        reminders.request_reminder(requested_by=org.users["sup"], enrollment_id=987654321)
    assert not Notification.objects.exists()


def test_one_reminder_per_enrollment_per_day(org, clock, mailoutbox, django_capture_on_commit_callbacks):
    sup, enrollment = org.users["sup"], org.enrollments["direct"]
    with django_capture_on_commit_callbacks(execute=True):
        first = reminders.request_reminder(requested_by=sup, enrollment_id=enrollment.pk)
    first.refresh_from_db()
    assert first.status == Notification.Status.SENT and len(mailoutbox) == 1
    assert mailoutbox[0].to == [org.users["direct"].email]
    clock.advance(hours=3)
    with pytest.raises(reminders.ReminderRefused, match="already sent today"):
        reminders.request_reminder(requested_by=sup, enrollment_id=enrollment.pk)
    assert Notification.objects.filter(enrollment=enrollment).count() == 1
    clock.advance(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        second = reminders.request_reminder(requested_by=sup, enrollment_id=enrollment.pk)
    assert second.pk != first.pk
    assert Notification.objects.filter(enrollment=enrollment).count() == 2 and len(mailoutbox) == 2


def test_a_pending_reminder_is_not_duplicated(org):
    sup, enrollment = org.users["sup"], org.enrollments["direct"]
    first = reminders.request_reminder(requested_by=sup, enrollment_id=enrollment.pk)  # not sent yet
    again = reminders.request_reminder(requested_by=sup, enrollment_id=enrollment.pk)
    assert again.pk == first.pk and Notification.objects.count() == 1


def test_manual_reminders_are_rate_limited_per_person(client, org, monkeypatch):
    monkeypatch.setattr(reminders, "MANUAL_REMINDERS_PER_HOUR", 2)
    client.force_login(org.users["sup"])
    results = [
        body(client.post(f"/team/overdue/{org.enrollments[n].pk}/remind/", HTTP_HX_REQUEST="true"))
        for n in ("direct", "indirect", "learner")
    ]
    assert ["Reminder queued." in r for r in results] == [True, True, False]
    assert "Too many reminders" in results[2]
    assert Notification.objects.count() == 2
    # the limit is the requester's, not the whole organisation's
    assert reminders.request_reminder(
        requested_by=org.users["other_sup"], enrollment_id=org.enrollments["outsider"].pk
    )


# --- completions per week ---------------------------------------------------------------------------


def test_completions_are_grouped_by_local_week_and_department(org):
    ny = ZoneInfo("America/New_York")
    now = timezone.now()
    this_monday = timezone.localdate(now) - timedelta(days=timezone.localdate(now).weekday())

    def local(day: date, hour: int, minute: int = 0) -> datetime:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ny).astimezone(UTC)

    sunday_late = local(this_monday - timedelta(days=8), 23, 30)  # still the week before last
    monday_early = local(this_monday - timedelta(days=7), 0, 30)  # last week, Monday 00:30 local
    done = {
        "lead": sunday_late,
        "direct": monday_early,
        "indirect": monday_early + timedelta(days=2),
        "outsider": monday_early,  # Ward B, outside sup's team
        "learner": now - timedelta(weeks=30),  # too old for the 26-week chart
    }
    for name, at in done.items():
        Enrollment.objects.filter(pk=org.enrollments[name].pk).update(status="completed", completed_at=at)
    User.objects.filter(pk=org.users["indirect"].pk).update(department=None)

    data = reports.completions_by_week(org.users["sup"])
    week_before, last_week = (
        (this_monday - timedelta(days=14)).isoformat(),
        (this_monday - timedelta(days=7)).isoformat(),
    )
    counts = dict(zip(data["labels"], data["overall"], strict=True))
    assert counts[week_before] == 1 and counts[last_week] == 2
    assert sum(data["overall"]) == 3
    assert set(data["departments"]) == {"Ward A", "No department"}
    ward_a = dict(zip(data["labels"], data["departments"]["Ward A"], strict=True))
    assert (ward_a[week_before], ward_a[last_week]) == (1, 1)
    assert dict(zip(data["labels"], data["departments"]["No department"], strict=True))[last_week] == 1
    admin = reports.completions_by_week(org.users["admin"])
    assert dict(zip(admin["labels"], admin["departments"]["Ward B"], strict=True))[last_week] == 1
    assert reports.completions_by_week(org.users["learner"])["overall"] == [] or not any(
        reports.completions_by_week(org.users["learner"])["overall"]
    )


def test_completions_chart_keeps_empty_weeks_so_the_time_axis_is_true(org):
    now = timezone.now()
    for name, weeks_ago in (("lead", 1), ("direct", 5)):
        Enrollment.objects.filter(pk=org.enrollments[name].pk).update(
            status="completed", completed_at=now - timedelta(weeks=weeks_ago)
        )
    data = reports.completions_by_week(org.users["sup"], weeks=8)
    labels = [date.fromisoformat(label) for label in data["labels"]]
    assert all((b - a).days == 7 for a, b in zip(labels, labels[1:], strict=False))  # no week skipped
    assert sum(data["overall"]) == 2 and data["overall"].count(0) == len(labels) - 2
    this_monday = timezone.localdate(now) - timedelta(days=timezone.localdate(now).weekday())
    assert labels[0] == this_monday - timedelta(weeks=8) and labels[-1] == this_monday  # whole weeks
    assert len(labels) == 9


# --- query counts -----------------------------------------------------------------------------------

MAX_QUERIES = 15
MAX_PERSON_PAGE_QUERIES = 17


def _page_queries(client, user, urls) -> dict[str, int]:
    client.force_login(user)
    counts = {}
    for url in urls:
        client.get(url)  # warm: the first request may load content types and the like
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200, url
        counts[url] = len(ctx.captured_queries)
        counts[f"{url} size"] = len(response.content)
    return counts


def _org_counts(client, tiny_path, staff: int) -> dict:
    sid = transaction.savepoint()
    try:
        report = generate_demo_org.generate(
            staff=staff, departments=2, answers_per_person=0, course_path=tiny_path, demo_review=True
        )
        top = User.objects.get(username=generate_demo_org.TOP_USERNAME)
        # a few overdue people in both sizes, so the overdue page has rows to draw
        latest = Enrollment.objects.filter(user__in=course_scope.visible_staff(top)).order_by("-cycle", "pk")
        Enrollment.objects.filter(pk__in=list(latest.values_list("pk", flat=True)[:3])).update(
            status=Enrollment.Status.IN_PROGRESS, completed_at=None, due_date=today() - timedelta(days=3)
        )
        quiz = (
            Attempt.objects.filter(user__supervisor__isnull=False).values_list("quiz_id", flat=True).first()
        )
        urls = ["/team/", "/team/overdue/", f"/team/quizzes/{quiz}/"]
        counts = _page_queries(client, top, urls)
        filters = reports.parse_filters({}, courses=list(Course.objects.all()))
        matrix = reports.team_matrix(top, filters)
        counts["rows"] = len(matrix.rows)
        counts["people"] = matrix.total
        counts["overdue"] = len(reports.overdue_enrollments(top))
        counts["answers"] = report["answers"]
        counts["urls"] = urls
        return counts
    finally:
        transaction.savepoint_rollback(sid)


def test_report_pages_use_the_same_few_queries_for_10_and_for_500_staff(client, tmp_path):
    tiny_path = write_tiny_course(tmp_path, quiz=MODULE_QUIZ, final=FINAL_EXAM)
    small = _org_counts(client, tiny_path, 10)
    large = _org_counts(client, tiny_path, 500)
    assert (small["people"], large["people"]) == (10, 500)
    assert (small["rows"], large["rows"]) == (10, 50)
    assert small["overdue"] >= 1 and large["overdue"] > small["overdue"]
    assert large["answers"] > 10 * small["answers"]
    for small_url, large_url in zip(small["urls"], large["urls"], strict=True):
        assert small[small_url] == large[large_url], (small_url, small[small_url], large[large_url])
        assert large[large_url] <= MAX_QUERIES, (large_url, large[large_url])
        assert large[f"{large_url} size"] > small[f"{small_url} size"]  # the page does show more


def test_team_page_query_budget_holds_under_django_assert_max_num_queries(
    client, org, django_assert_max_num_queries
):
    client.force_login(org.users["admin"])
    client.get("/team/")
    with django_assert_max_num_queries(MAX_QUERIES):
        assert client.get("/team/", {"status": "overdue", "sort": "-progress"}).status_code == 200
    # The person page also reads the skills section and each quiz's start state (modules, lessons, read
    # lessons, attempts): a fixed budget of its own, whatever the person's history.
    with django_assert_max_num_queries(MAX_PERSON_PAGE_QUERIES):
        assert client.get(f"/team/people/{org.users['direct'].pk}/").status_code == 200


# --- recertification cycles in the matrix ---------------------------------------------------------------


def test_last_cycles_passes_do_not_show_as_passed_in_this_cycle(org):
    """A recertification cycle starts from zero: the matrix agrees with the stored progress."""
    indirect, sup = org.users["indirect"], org.users["sup"]
    Enrollment.objects.filter(pk=org.enrollments["indirect"].pk).update(
        status="completed", completed_at=timezone.now() - timedelta(days=1)
    )
    services.enroll(
        user=indirect,
        course=org.tiny.course,
        source=Enrollment.Source.RECERTIFICATION,
        due_date=today() - timedelta(days=1),
    )
    filters = reports.parse_filters({}, courses=[org.tiny.course])
    row = next(r for r in reports.team_matrix(sup, filters).rows if r.person == indirect)
    assert row.enrollment.cycle == 2 and row.enrollment.quizzes_passed == 0
    assert "passed" not in row.cells.values()
    assert row.cells[org.tiny.modules[0].key] == "overdue"


# --- the demo organisation generator -------------------------------------------------------------------


def test_generate_demo_org_builds_a_consistent_hierarchy_and_runs_once(tmp_path, settings):
    settings.COURSE_ALLOW_UNREVIEWED = False
    path = write_tiny_course(tmp_path, reviewed=False, quiz=MODULE_QUIZ, final=FINAL_EXAM)
    with pytest.raises(CommandError, match="--demo-review"):
        call_command("generate_demo_org", staff=12, departments=2, course_path=path, stdout=io.StringIO())
    out = io.StringIO()
    call_command(
        "generate_demo_org",
        staff=12,
        departments=2,
        answers_per_person=60,
        course_path=path,
        demo_review=True,
        stdout=out,
    )
    assert "Done in" in out.getvalue() and "FAKE medical review" in out.getvalue()
    top = User.objects.get(username="demo-top")
    staff = course_scope.visible_staff(top)
    assert staff.count() == 12
    heads = list(User.objects.filter(supervisor=top))
    assert len(heads) == 2 and all(h.role == Role.SUPERVISOR and h.department for h in heads)
    assert not staff.filter(supervisor__isnull=True).exists()
    assert Enrollment.objects.filter(user__in=staff).values("user").distinct().count() == 12
    version = Enrollment.objects.filter(user__in=staff).first().version
    assert version.medical_reviewer == generate_demo_org.DEMO_REVIEWER and "FAKE" in version.medical_reviewer
    assert Answer.objects.filter(attempt__user__in=staff).count() >= 12 * 15
    check = io.StringIO()
    call_command("check_progress", stdout=check)  # stored progress matches the raw records
    assert "0 differences" in check.getvalue()
    with pytest.raises(CommandError, match="already holds a demo organisation"):
        call_command("generate_demo_org", staff=12, departments=2, course_path=path, stdout=io.StringIO())


def test_generated_attempts_grade_the_same_in_the_real_engine(tmp_path):
    path = write_tiny_course(tmp_path, quiz=MODULE_QUIZ, final=FINAL_EXAM)
    generate_demo_org.generate(
        staff=8, departments=2, answers_per_person=40, course_path=path, demo_review=True
    )
    from quizzes import grading
    from quizzes.models import Choice, Question

    attempts = list(Attempt.objects.filter(state="submitted").order_by("pk")[:25])
    assert attempts
    for attempt in attempts:
        ids = quiz_services.gradable_question_ids(attempt.layout)
        answers = {a.question_id: a for a in attempt.answers.all()}
        assert set(answers) == set(ids)
        items = []
        for qid in ids:
            question = Question.objects.get(pk=qid)
            key = quiz_services._answer_key(question, list(Choice.objects.filter(question=question)))
            result = grading.grade(key, answers[qid].response)
            assert (
                Decimal(result.points.numerator) / Decimal(result.points.denominator) == answers[qid].points
            )
            items.append(grading.ItemResult(str(qid), result, question.critical, question.objective))
        summary = grading.summarise(items, pass_mark_percent=attempt.quiz.pass_mark)
        assert (summary.score_percent, summary.passed) == (attempt.score, attempt.passed)
        for token, _ in attempt.layout["items"][str(ids[0])].get("choices", []):
            assert re.fullmatch(r"[0-9a-f]{10}", token)


def test_quiz_statistics_page_shows_when_the_question_statistics_were_computed(client, org, monkeypatch):
    """An admin's view (everyone) is served from the stored snapshot with its time; a supervisor's
    (their own staff) is computed on the spot."""
    from quizzes import statistics

    monkeypatch.setattr(statistics, "ON_DEMAND_MAX_ANSWERS", 0)  # served from the snapshot
    snapshot = statistics.refresh_item_statistics(
        quiz_id=org.quiz.pk, now=datetime(2030, 2, 3, 14, 5, tzinfo=ZoneInfo("America/New_York"))
    )
    client.force_login(org.users["admin"])
    text = body(client.get(f"/team/quizzes/{org.quiz.pk}/"))
    assert "Question statistics computed 3 Feb 2030, 14:05" in text
    assert snapshot.items and f"{snapshot.items[0]['key']} v" in text
    client.force_login(org.users["sup"])
    now = timezone.localtime()
    text = body(client.get(f"/team/quizzes/{org.quiz.pk}/"))
    assert f"Question statistics computed {now:%-d %b %Y}" in text


def test_a_supervisors_statistics_are_stored_for_their_staff_and_refreshed_with_everyone_elses(
    client, org, monkeypatch
):
    from quizzes import statistics
    from quizzes.models import ItemStatisticsSnapshot

    monkeypatch.setattr(statistics, "ON_DEMAND_MAX_ANSWERS", 0)  # every scope "large": stored
    sup = org.users["sup"]
    client.force_login(sup)
    assert client.get(f"/team/quizzes/{org.quiz.pk}/").status_code == 200
    stored = ItemStatisticsSnapshot.objects.get(quiz=org.quiz, scope=f"supervisor:{sup.pk}")
    mine = statistics.quiz_item_statistics(quiz=org.quiz, users=course_scope.visible_staff(sup))
    assert stored.answers == sum(s.responses for s in mine) > 0
    everyone = statistics.quiz_item_statistics(quiz=org.quiz)
    assert sum(s.responses for s in everyone) > stored.answers  # the scope is the supervisor's staff only
    ItemStatisticsSnapshot.objects.filter(pk=stored.pk).update(answers=0, items=[])
    total = statistics.refresh_all_scopes(quiz_id=org.quiz.pk)  # what the task runs after grading
    stored.refresh_from_db()
    assert stored.answers == sum(s.responses for s in mine)
    assert total == stored.answers + sum(s.responses for s in everyone)
    assert course_scope.staff_for_scope(f"supervisor:{org.users['direct'].pk}").count() == 0
