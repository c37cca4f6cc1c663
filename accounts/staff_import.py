"""Staff CSV import: parse and validate every row (pure, no writes), then apply all or nothing.

Columns: employee_id, first_name, last_name, email, role, department, supervisor_employee_id,
hire_date (YYYY-MM-DD); optional: job_title, licence_number. Re-importing updates people matched by
employee id; it never duplicates them.
"""

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from .models import Department, Role, User

REQUIRED = (
    "employee_id",
    "first_name",
    "last_name",
    "email",
    "role",
    "department",
    "supervisor_employee_id",
    "hire_date",
)
OPTIONAL = ("job_title", "licence_number")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_ROWS = 20000


@dataclass
class RowResult:
    line: int
    employee_id: str
    action: str = ""  # create | update | unchanged
    changes: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    department_name: str = ""

    LABELS = {
        "first_name": "First name",
        "last_name": "Last name",
        "email": "Email",
        "role": "Role",
        "department_id": "Department",
        "job_title": "Job title",
        "licence_number": "Licence number",
        "hire_date": "Hire date",
        "supervisor_employee_id": "Supervisor (employee id)",
    }

    @property
    def preview(self) -> list[tuple[str, str]]:
        """The changes as a person reads them: (label, new value), the department by name."""
        out = []
        for name, value in self.changes.items():
            if name == "department_id":
                value = self.department_name
            elif name == "role":
                value = Role(value).label if value in Role.values else value
            elif name == "hire_date" and value is not None:
                value = value.isoformat()
            out.append((self.LABELS.get(name, name), "—" if value in (None, "") else str(value)))
        return out


@dataclass
class ImportReport:
    rows: list[RowResult]
    file_errors: list[str]
    committed: bool = False
    user_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.file_errors and not any(r.errors for r in self.rows)

    @property
    def counts(self) -> dict[str, int]:
        out = {"create": 0, "update": 0, "unchanged": 0, "errors": 0}
        for row in self.rows:
            if row.errors:
                out["errors"] += 1
            else:
                out[row.action] += 1
        return out


def _role(value: str) -> str | None:
    value = value.strip().lower().replace(" ", "_")
    aliases = {"department_admin": Role.DEPARTMENT_ADMIN, "dept_admin": Role.DEPARTMENT_ADMIN}
    if value in aliases:
        return aliases[value]
    return value if value in Role.values else None


LINE_BREAK = re.compile(r"\r\n|\r|\n")
LINE = "#line"  # each parsed row's line in the file (blank lines are skipped by the reader, not miscounted)


def parse(text: str) -> tuple[list[dict], list[str]]:
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        return [], ["The file contains NUL bytes: save it as CSV (UTF-8) and upload that file."]
    # newline="": the csv module handles CR, LF and CRLF itself, and line breaks inside quoted cells.
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows, too_many = [], []
    try:
        headers = [h.strip().lower() for h in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED if c not in headers]
        if missing:
            return [], [f"Missing column(s): {', '.join(missing)}. Required: {', '.join(REQUIRED)}."]
        for row in reader:
            extra = row.pop(None, None) or []  # cells beyond the header's columns
            cells = [v for v in row.values() if v] + extra
            line = reader.line_num - sum(len(LINE_BREAK.findall(cell)) for cell in cells)  # its first line
            if any(cell.strip() for cell in extra):
                too_many.append(str(line))
            rows.append({(k or "").strip().lower(): (v or "") for k, v in row.items()} | {LINE: line})
            if len(rows) > MAX_ROWS:
                return [], [f"The file has more than {MAX_ROWS} rows; split it."]
    except csv.Error as exc:
        return [], [f"Line {reader.line_num}: not readable as CSV ({exc})."]
    if too_many:
        return [], [
            f"Line(s) {', '.join(too_many)}: more cells than the header has columns (an unquoted comma?)."
        ]
    if not rows:
        return [], ["The file has no data rows."]
    return rows, []


def validate(rows: list[dict]) -> ImportReport:
    """Check every row against the file and the database; no writes."""
    departments = {d.name.lower(): d for d in Department.objects.all()} | {
        d.code.lower(): d for d in Department.objects.all()
    }
    ids_in_file = [r.get("employee_id", "").strip() for r in rows]
    existing = {u.employee_id: u for u in User.objects.filter(employee_id__in=[i for i in ids_in_file if i])}
    known_supervisors = set(ids_in_file) | set(
        User.objects.filter(
            employee_id__in={r.get("supervisor_employee_id", "").strip() for r in rows}
        ).values_list("employee_id", flat=True)
    )
    seen: dict[str, int] = {}
    results = []
    for index, raw in enumerate(rows, start=2):
        line = raw.get(LINE, index)
        raw = {k: v for k, v in raw.items() if k != LINE}
        row = {k: v.strip() for k, v in raw.items()}
        result = RowResult(line=line, employee_id=row.get("employee_id", ""))
        for column, value in raw.items():
            if value and value.startswith(FORMULA_START) and column != "hire_date":
                result.errors.append(
                    f"{column}: looks like a spreadsheet formula ({value[:20]!r}); remove it"
                )
        employee_id = row.get("employee_id", "")
        if not employee_id:
            result.errors.append("employee_id is required")
        elif employee_id in seen:
            result.errors.append(f"employee_id {employee_id} also appears on line {seen[employee_id]}")
        else:
            seen[employee_id] = line
        for column in ("first_name", "last_name"):
            if not row.get(column):
                result.errors.append(f"{column} is required")
        email = row.get("email", "")
        if email:
            try:
                validate_email(email)
            except ValidationError:
                result.errors.append(f"email {email!r} is not a valid address")
        role = _role(row.get("role", "") or "learner")
        if role is None:
            result.errors.append(f"role {row.get('role')!r} is not one of {', '.join(Role.values)}")
        department = departments.get(row.get("department", "").lower())
        if row.get("department") and department is None:
            result.errors.append(f"department {row.get('department')!r} does not exist")
        supervisor_id = row.get("supervisor_employee_id", "")
        if supervisor_id and supervisor_id not in known_supervisors:
            result.errors.append(f"supervisor {supervisor_id!r} is not in the file or the staff list")
        if supervisor_id and supervisor_id == employee_id:
            result.errors.append("a person cannot be their own supervisor")
        hire_date = None
        if row.get("hire_date"):
            try:
                hire_date = date.fromisoformat(row["hire_date"])
            except ValueError:
                result.errors.append(f"hire_date {row['hire_date']!r} is not a date (YYYY-MM-DD)")
        if not result.errors:
            wanted = {
                "first_name": row["first_name"],
                "last_name": row["last_name"],
                "email": email,
                "role": role,
                "department_id": department.pk if department else None,
                "job_title": row.get("job_title", ""),
                "licence_number": row.get("licence_number", ""),
                "hire_date": hire_date,
                "supervisor_employee_id": supervisor_id or None,
            }
            result.department_name = department.name if department else ""
            user = existing.get(employee_id)
            if user is None:
                result.action, result.changes = "create", wanted
            else:
                current_supervisor = user.supervisor.employee_id if user.supervisor_id else None
                changes = {
                    k: v for k, v in wanted.items() if k != "supervisor_employee_id" and getattr(user, k) != v
                }
                if current_supervisor != wanted["supervisor_employee_id"]:
                    changes["supervisor_employee_id"] = wanted["supervisor_employee_id"]
                result.action = "update" if changes else "unchanged"
                result.changes = changes
        results.append(result)
    return ImportReport(rows=results, file_errors=[])


@transaction.atomic
def apply(report: ImportReport) -> list[int]:
    """Write a validated report: all rows or none. Returns the ids of people created or changed."""
    if not report.ok:
        raise ValueError("refusing to import a file with errors")
    by_employee = {
        u.employee_id: u
        for u in User.objects.select_for_update().filter(employee_id__in=[r.employee_id for r in report.rows])
    }
    touched = []
    for row in report.rows:
        if row.action == "unchanged":
            continue
        fields = {k: v for k, v in row.changes.items() if k != "supervisor_employee_id"}
        user = by_employee.get(row.employee_id)
        if user is None:
            user = User(username=_username(row.employee_id), employee_id=row.employee_id, **fields)
            user.set_unusable_password()
            user.save()
            by_employee[row.employee_id] = user
        elif fields:
            for key, value in fields.items():
                setattr(user, key, value)
            user.save(update_fields=list(fields))
        touched.append(user.pk)
    supervisors = {
        u.employee_id: u
        for u in User.objects.filter(
            employee_id__in={r.changes.get("supervisor_employee_id") for r in report.rows} - {None}
        )
    }
    for row in report.rows:
        if "supervisor_employee_id" in row.changes:
            user = by_employee[row.employee_id]
            target = row.changes["supervisor_employee_id"]
            user.supervisor = supervisors.get(target) if target else None
            user.save(update_fields=["supervisor"])
    return touched


def _username(employee_id: str) -> str:
    base = "".join(ch for ch in employee_id.lower() if ch.isalnum() or ch in "._-")[:140] or "staff"
    candidate, n = base, 1
    while User.objects.filter(username=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate
