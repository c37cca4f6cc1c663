"""Staff CSV import (accounts.staff_import through courses.assignments.services.import_staff, the admin view and
`manage.py import_staff`): dry run, commit, re-import, file and row errors (nothing imported), and the
supervisor defined further down the same file."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from accounts import staff_import
from accounts.models import Role, User
from core.models import AuditEvent
from courses.assignments.services import import_staff
from courses.models import Enrollment
from tests.factories import UserFactory
from tests.onboarding_helpers import local_dt, make_course, make_department, make_rule

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
HEADER = "employee_id,first_name,last_name,email,role,department,supervisor_employee_id,hire_date,job_title"
# The supervisor (S1) comes after the people who report to them.
GOOD = [
    "E1,Ana,Alvarez,ana@example.org,learner,Nursing,S1,2030-02-10,Registered Nurse",
    "E2,Ben,Brown,,learner,nursing,S1,2019-06-01,Care aide",
    "S1,Sue,Smith,sue@example.org,supervisor,Nursing,,2015-01-05,Charge nurse",
]


def csv_text(*lines: str, header: str = HEADER) -> str:
    return "\n".join([header, *lines]) + "\n"


@pytest.fixture
def nursing():
    return make_department("nursing")  # name "Department nursing", code "nursing"


@pytest.fixture(autouse=True)
def frozen(clock):
    clock.now = local_dt(date(2030, 3, 1))
    return clock


def people() -> list[tuple]:
    return sorted(
        User.objects.filter(employee_id__isnull=False).values_list(
            "employee_id",
            "first_name",
            "last_name",
            "email",
            "role",
            "department__code",
            "supervisor__employee_id",
            "hire_date",
            "job_title",
        )
    )


# --- dry run, commit, re-import -------------------------------------------------------------------


def test_dry_run_writes_nothing_and_reports_create_update_unchanged(nursing):
    boss = UserFactory(employee_id="S1", first_name="Sue", last_name="Smith", email="sue@example.org",
                       role=Role.SUPERVISOR, department=nursing, hire_date=date(2015, 1, 5), job_title="Charge nurse")  # fmt: skip
    UserFactory(employee_id="E1", first_name="Ana", last_name="Alvarez", email="ana@example.org",
                role=Role.LEARNER, department=nursing, supervisor=boss, hire_date=date(2030, 2, 10),
                job_title="Registered nurse")  # fmt: skip
    make_rule(make_course())
    before = people()
    audit_before = AuditEvent.objects.count()

    report = import_staff(text=csv_text(*GOOD), commit=False)

    assert report.ok and not report.committed
    assert report.counts == {"create": 1, "update": 1, "unchanged": 1, "errors": 0}
    actions = {row.employee_id: (row.line, row.action, sorted(row.changes)) for row in report.rows}
    assert actions["E1"] == (2, "update", ["job_title"])  # "Registered Nurse" differs in case
    assert actions["E2"][:2] == (3, "create")
    assert actions["S1"] == (4, "unchanged", [])
    assert people() == before
    assert not Enrollment.objects.exists()
    assert AuditEvent.objects.count() == audit_before


def test_commit_creates_people_links_supervisors_and_assigns_courses(nursing):
    make_rule(make_course("everyone"), start_date=date(2030, 1, 1), due_days=30)

    report = import_staff(text=csv_text(*GOOD), commit=True)

    assert report.ok and report.committed
    assert report.counts == {"create": 3, "update": 0, "unchanged": 0, "errors": 0}
    assert people() == [
        ("E1", "Ana", "Alvarez", "ana@example.org", "learner", "nursing", "S1", date(2030, 2, 10), "Registered Nurse"),
        ("E2", "Ben", "Brown", "", "learner", "nursing", "S1", date(2019, 6, 1), "Care aide"),
        ("S1", "Sue", "Smith", "sue@example.org", "supervisor", "nursing", None, date(2015, 1, 5), "Charge nurse"),
    ]  # fmt: skip
    ana = User.objects.get(employee_id="E1")
    assert ana.username == "e1" and not ana.has_usable_password() and ana.is_active
    assert sorted(report.user_ids) == sorted(
        User.objects.filter(employee_id__isnull=False).values_list("pk", flat=True)
    )
    due = dict(Enrollment.objects.values_list("user__employee_id", "due_date"))
    assert due == {"E1": date(2030, 3, 12), "E2": date(2030, 1, 31), "S1": date(2030, 1, 31)}
    role_events = AuditEvent.objects.filter(action="user.role_changed")
    assert {e.target_id: e.data["role"] for e in role_events} == {
        "E1": "learner",
        "E2": "learner",
        "S1": "supervisor",
    }
    assert {e.data["via"] for e in role_events} == {"staff import"}


def test_reimport_updates_never_duplicates(nursing):
    kitchen = make_department("kitchen")
    import_staff(text=csv_text(*GOOD), commit=True)
    ids_before = dict(User.objects.values_list("employee_id", "pk"))
    audit_before = AuditEvent.objects.filter(action="user.role_changed").count()

    same = import_staff(text=csv_text(*GOOD), commit=True)
    assert same.counts == {"create": 0, "update": 0, "unchanged": 3, "errors": 0}
    assert dict(User.objects.values_list("employee_id", "pk")) == ids_before

    changed = [
        "E1,Ana,Alvarez,ana.alvarez@example.org,supervisor,kitchen,,2030-02-10,Registered Nurse",
        GOOD[1],
        GOOD[2],
    ]
    report = import_staff(text=csv_text(*changed), commit=True)

    assert report.counts == {"create": 0, "update": 1, "unchanged": 2, "errors": 0}
    assert sorted(report.rows[0].changes) == ["department_id", "email", "role", "supervisor_employee_id"]
    assert dict(User.objects.values_list("employee_id", "pk")) == ids_before
    assert User.objects.count() == len(ids_before)
    ana = User.objects.get(employee_id="E1")
    assert (ana.email, ana.role, ana.department, ana.supervisor) == (
        "ana.alvarez@example.org",
        "supervisor",
        kitchen,
        None,
    )
    new_events = AuditEvent.objects.filter(action="user.role_changed").order_by("pk")[audit_before:]
    assert [(e.target_id, e.data["role"]) for e in new_events] == [("E1", "supervisor")]


def test_supervisor_defined_later_in_the_same_file(nursing):
    lines = [
        "E10,Zed,Zee,z@example.org,learner,nursing,S20,2030-01-01,",
        "S20,Mid,Manager,m@example.org,supervisor,nursing,S30,2020-01-01,",
        "S30,Top,Boss,t@example.org,department_admin,nursing,,2010-01-01,",
    ]
    report = import_staff(text=csv_text(*lines), commit=True)
    assert report.committed, [r.errors for r in report.rows]
    chain = dict(User.objects.values_list("employee_id", "supervisor__employee_id"))
    assert chain == {"E10": "S20", "S20": "S30", "S30": None}
    assert User.objects.get(employee_id="S30").role == Role.DEPARTMENT_ADMIN


def test_existing_supervisor_outside_the_file(nursing):
    UserFactory(employee_id="BOSS", role=Role.SUPERVISOR)
    report = import_staff(
        text=csv_text("E1,Ana,Alvarez,ana@example.org,learner,nursing,BOSS,2030-01-01,"), commit=True
    )
    assert report.committed
    assert User.objects.get(employee_id="E1").supervisor.employee_id == "BOSS"


# --- file errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            csv_text(GOOD[0], header="employee_id,first_name,last_name,email,role,department"),
            "supervisor_employee_id, hire_date",
        ),
        ("", "Missing column(s)"),
        (HEADER + "\n", "no data rows"),
        ("\ufeff" + HEADER.replace("employee_id,", "", 1) + "\nx\n", "Missing column(s): employee_id"),
    ],
    ids=["missing-columns", "empty", "header-only", "bom-missing-id"],
)
def test_file_errors_import_nothing(nursing, text, message):
    before = User.objects.count()
    report = import_staff(text=text, commit=True)
    assert not report.ok and not report.committed
    assert report.rows == []
    assert any(message in error for error in report.file_errors), report.file_errors
    assert User.objects.count() == before


def test_header_names_are_case_and_space_insensitive_and_a_bom_is_ignored(nursing):
    header = "\ufeff" + ", ".join(c.upper() for c in HEADER.split(","))
    report = import_staff(text=csv_text(*GOOD, header=header), commit=True)
    assert report.committed and User.objects.filter(employee_id__isnull=False).count() == 3


@pytest.mark.parametrize("newline", ["\r\n", "\r"], ids=["crlf", "cr-only"])
def test_windows_and_old_mac_line_endings(nursing, newline):
    text = csv_text(*GOOD).replace("\n", newline)
    report = import_staff(text=text, commit=True)
    assert report.committed, (report.file_errors, [r.errors for r in report.rows])
    assert [row.line for row in report.rows] == [2, 3, 4]
    assert len(people()) == 3


# --- row errors: nothing imported -----------------------------------------------------------------


BAD_ROWS = {
    "bad-date": ("E9,Bad,Date,b@example.org,learner,nursing,,2030-13-01,", "hire_date '2030-13-01' is not a date"),
    "us-date": ("E9,Bad,Date,b@example.org,learner,nursing,,02/03/2030,", "is not a date (YYYY-MM-DD)"),
    "unknown-supervisor": ("E9,No,Boss,b@example.org,learner,nursing,S404,2030-01-01,", "supervisor 'S404' is not in the file"),
    "own-supervisor": ("E9,Self,Boss,b@example.org,learner,nursing,E9,2030-01-01,", "cannot be their own supervisor"),
    "unknown-department": ("E9,No,Dept,b@example.org,learner,Astronomy,,2030-01-01,", "department 'Astronomy' does not exist"),
    "duplicate-id": ("E1,Ana,Again,a2@example.org,learner,nursing,,2030-01-01,", "employee_id E1 also appears on line 2"),
    "invalid-email": ("E9,Bad,Mail,not-an-email,learner,nursing,,2030-01-01,", "email 'not-an-email' is not a valid address"),
    "unknown-role": ("E9,Bad,Role,b@example.org,wizard,nursing,,2030-01-01,", "role 'wizard' is not one of"),
    "missing-id": (",No,Id,b@example.org,learner,nursing,,2030-01-01,", "employee_id is required"),
    "missing-name": ("E9,,Name,b@example.org,learner,nursing,,2030-01-01,", "first_name is required"),
    "formula-equals": ('E9,"=HYPERLINK(""http://x"",""y"")",Eq,b@example.org,learner,nursing,,2030-01-01,', "first_name: looks like a spreadsheet formula"),
    "formula-plus": ("E9,Plus,+1+2,b@example.org,learner,nursing,,2030-01-01,", "last_name: looks like a spreadsheet formula"),
    "formula-minus": ("E9,Minus,Cell,b@example.org,learner,nursing,,2030-01-01,-2+3", "job_title: looks like a spreadsheet formula"),
    "formula-at": ("E9,At,Cell,b@example.org,learner,nursing,,2030-01-01,@SUM(A1:A2)", "job_title: looks like a spreadsheet formula"),
    "formula-tab": ("E9,Tab,Cell,b@example.org,learner,nursing,,2030-01-01,\tcmd", "job_title: looks like a spreadsheet formula"),
    "formula-cr": ('E9,Cr,Cell,b@example.org,learner,nursing,,2030-01-01,"\r=1+1"', "job_title: looks like a spreadsheet formula"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_a_bad_row_is_listed_with_its_line_and_nothing_is_imported(nursing, case):
    make_rule(make_course())
    bad, message = BAD_ROWS[case]
    users_before = User.objects.count()
    text = csv_text(GOOD[0], GOOD[1], bad, GOOD[2])

    dry = import_staff(text=text, commit=False)
    report = import_staff(text=text, commit=True)

    for result in (dry, report):
        assert not result.ok and not result.committed
        errors = {row.line: row.errors for row in result.rows if row.errors}
        assert list(errors) == [4], errors
        assert any(message in error for error in errors[4]), errors
        assert result.counts["errors"] == 1
    assert User.objects.count() == users_before
    assert not Enrollment.objects.exists()


def test_every_bad_row_is_listed_at_once(nursing):
    lines = [
        GOOD[0],
        BAD_ROWS["bad-date"][0],
        GOOD[1],
        BAD_ROWS["unknown-department"][0].replace("E9", "E8"),
        GOOD[2],
    ]
    report = import_staff(text=csv_text(*lines), commit=True)
    assert [(row.line, row.employee_id) for row in report.rows if row.errors] == [(3, "E9"), (5, "E8")]
    assert not User.objects.exists()


def test_line_numbers_count_blank_lines(nursing):
    text = csv_text(GOOD[2], "", GOOD[0], "", BAD_ROWS["invalid-email"][0])
    report = import_staff(text=text, commit=False)
    assert [(row.line, row.employee_id) for row in report.rows if row.errors] == [(6, "E9")]


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        # an unquoted comma: a file error naming the line
        ("E9,Extra,Cells,b@example.org,learner,nursing,,2030-01-01,Nurse,surplus", "Line(s) 3: more cells"),
        # an unquoted carriage return splits the row: the second half is an invalid row (line 4)
        (
            "E9,Stray,C\rR,b@example.org,learner,nursing,,2030-01-01,",
            "4: email 'nursing' is not a valid address",
        ),
        ("E9,Nul,By\x00te,b@example.org,learner,nursing,,2030-01-01,", "The file contains NUL bytes"),
    ],
    ids=["extra-cells", "unquoted-cr", "nul-byte"],
)
def test_malformed_rows_are_reported_not_a_crash(nursing, bad, expected):
    text = csv_text(GOOD[0], bad, GOOD[2])
    report = import_staff(text=text, commit=True)
    assert not report.ok and not report.committed
    messages = report.file_errors + [f"{row.line}: {e}" for row in report.rows for e in row.errors]
    assert any(expected in message for message in messages), messages
    assert not User.objects.exists()


def test_trailing_empty_cells_are_ignored(nursing):
    text = csv_text(*(line + ",," for line in GOOD))
    report = import_staff(text=text, commit=True)
    assert report.committed, (report.file_errors, [r.errors for r in report.rows])
    assert User.objects.count() == 3


def test_validate_and_apply_directly(nursing):
    rows, errors = staff_import.parse(csv_text(*GOOD))
    assert errors == [] and len(rows) == 3
    report = staff_import.validate(rows)
    assert report.ok and not User.objects.exists()
    bad = staff_import.validate(staff_import.parse(csv_text(BAD_ROWS["bad-date"][0]))[0])
    with pytest.raises(ValueError):
        staff_import.apply(bad)
    assert len(staff_import.apply(report)) == 3


# --- the admin view -------------------------------------------------------------------------------


@pytest.fixture
def superuser_client(client, frozen):
    admin = User.objects.create_superuser(
        username="coordinator", email="c@example.org", password="x-long-pass-1"
    )
    client.force_login(admin)  # after freezing the clock: the session must not expire in the frozen future
    return client, admin


def test_admin_import_preview_then_commit(nursing, superuser_client):
    client, admin = superuser_client
    make_rule(make_course())
    url = reverse("admin:accounts_user_import")
    assert client.get(url).status_code == 200
    changelist = client.get(reverse("admin:accounts_user_changelist"))
    assert url in changelist.content.decode()

    upload = SimpleUploadedFile("staff.csv", ("\ufeff" + csv_text(*GOOD)).encode(), content_type="text/csv")
    preview = client.post(url, {"csv_file": upload})

    assert preview.status_code == 200
    page = preview.content.decode()
    assert "3 to create, 0 to update, 0 unchanged, 0 with errors." in page
    assert 'name="commit"' in page
    assert not User.objects.filter(employee_id__isnull=False).exists()

    done = client.post(url, {"commit": "1"})

    assert done.status_code == 302 and done["Location"] == reverse("admin:accounts_user_changelist")
    assert len(people()) == 3
    assert Enrollment.objects.filter(user__employee_id__isnull=False).count() == 3
    event = AuditEvent.objects.filter(action="user.role_changed").first()
    assert event.actor == admin
    # The file is consumed: committing again does nothing.
    again = client.post(url, {"commit": "1"})
    assert again.status_code == 200 and len(people()) == 3


def test_admin_import_with_errors_shows_them_and_cannot_commit(nursing, superuser_client):
    client, _ = superuser_client
    url = reverse("admin:accounts_user_import")
    text = csv_text(GOOD[0], BAD_ROWS["unknown-supervisor"][0])
    preview = client.post(url, {"csv_file": SimpleUploadedFile("staff.csv", text.encode())})
    page = preview.content.decode()
    assert (
        "supervisor &#x27;S404&#x27; is not in the file" in page
        or "supervisor 'S404' is not in the file" in page
    )
    assert 'name="commit"' not in page
    client.post(url, {"commit": "1"})
    assert not User.objects.filter(employee_id__isnull=False).exists()


def test_admin_import_rejects_a_file_that_is_not_utf8(nursing, superuser_client):
    client, _ = superuser_client
    upload = SimpleUploadedFile(
        "staff.csv", csv_text("E1,Zoë,Ø,z@example.org,learner,nursing,,2030-01-01,").encode("latin-1")
    )
    response = client.post(reverse("admin:accounts_user_import"), {"csv_file": upload})
    assert "The file is not UTF-8 text." in response.content.decode()
    assert not User.objects.filter(employee_id__isnull=False).exists()


def test_admin_import_needs_staff(client, nursing):
    client.force_login(UserFactory())
    response = client.get(reverse("admin:accounts_user_import"))
    assert response.status_code == 302 and "/login/" in response["Location"]


# --- manage.py import_staff -----------------------------------------------------------------------


def test_command_dry_run_then_commit(nursing, tmp_path, capsys):
    path = tmp_path / "staff.csv"
    path.write_text(csv_text(*GOOD), encoding="utf-8")

    call_command("import_staff", str(path))
    out = capsys.readouterr().out
    assert "3 to create, 0 to update, 0 unchanged, 0 with errors" in out
    assert "Dry run: nothing written (add --commit)." in out
    assert not User.objects.filter(employee_id__isnull=False).exists()

    call_command("import_staff", str(path), "--commit")
    out = capsys.readouterr().out
    assert "Imported." in out
    assert len(people()) == 3

    call_command("import_staff", str(path), "--commit")
    assert "0 to create, 0 to update, 3 unchanged, 0 with errors" in capsys.readouterr().out
    assert len(people()) == 3


def test_command_errors_raise_and_import_nothing(nursing, tmp_path, capsys):
    path = tmp_path / "staff.csv"
    path.write_text(csv_text(GOOD[0], BAD_ROWS["bad-date"][0], GOOD[2]), encoding="utf-8")
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_staff", str(path), "--commit")
    err = capsys.readouterr().err
    assert "line 3 (E9): hire_date '2030-13-01' is not a date" in err
    assert not User.objects.exists()
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_staff", str(tmp_path / "missing.csv"))


def test_manage_py_exit_status(tmp_path):
    """The real command line: exit 0 on a clean dry run, 1 on errors (against the test database)."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "elearn.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(csv_text("E1,Ana,Alvarez,ana@example.org,learner,,,2030-02-10,"), encoding="utf-8")
    bad.write_text(csv_text("E1,Ana,Alvarez,ana@example.org,learner,Nowhere,,2030-02-30,"), encoding="utf-8")

    def run(*args):
        return subprocess.run(
            [sys.executable, "manage.py", "import_staff", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    ok = run(str(good))
    assert ok.returncode == 0, ok.stderr
    assert "1 to create" in ok.stdout and "Dry run" in ok.stdout
    failed = run(str(bad), "--commit")
    assert failed.returncode == 1
    assert "line 2 (E1)" in failed.stderr and "department 'Nowhere' does not exist" in failed.stderr
    assert "hire_date '2030-02-30' is not a date" in failed.stderr
    assert "Nothing was imported" in failed.stderr
    assert not User.objects.filter(employee_id="E1").exists()
