"""Onboarding benchmark: the assignment engine and the reminder run at coordinator scale. Not collected
by pytest (tests/bench/conftest.py ignores this folder).

    .venv/bin/python tests/bench/bench_onboarding.py [--staff 5000] [--keep-db]

1. Creates the database `elearn_bench_onboarding` on the local PostgreSQL (dropped and recreated each
   run, dropped again at the end unless --keep-db) and migrates the real app into it, in process, with
   the pytest settings (elearn.settings.test: one plain connection, locmem email backend).
2. Loads 4 small published courses (tests/course_helpers.write_tiny_course, through the real loader)
   and 17 assignment rules over them: all staff (2 courses, one recurring yearly), one rule per
   department (course 3) and one per job title (course 4), so every person is covered by all four.
3. Seeds --staff people in one bulk insert: 10 departments, a department admin and 5 supervisors each,
   the rest staff with a supervisor; 10% without an email address; 20% hired after the rules' start.
4. apply_rules for everyone (batches of 1,000), then again (idempotency: nothing added), then with
   batches of 500: wall time, rows created, and the queries of every batch (a CaptureQueriesContext
   around each batch), which must be the same for every batch whatever it holds.
5. Spreads the 20,000 due dates over the reminder window (-7 .. +28 days from the due date), then a
   reminder run: plan_notifications (batches of 2,000, again with 1,000) with the queries per batch,
   a second plan (nothing new), and send_pending until nothing is pending (one transaction and one
   email per reminder or digest: queries per email, not per batch, by design).
6. Prints the numbers and writes tests/bench/results/onboarding.json.

The clock is frozen (django.utils.timezone.now) at 3 June 2030, 07:00 in the organisation's time zone.
Only the local PostgreSQL is contacted.
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")
DB_NAME = "elearn_bench_onboarding"
RESULTS = ROOT / "tests" / "bench" / "results" / "onboarding.json"
TODAY = date(2030, 6, 3)


def log(message: str) -> None:
    print(f"[onboarding-bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def sql(dbname: str, *statements: str) -> list:
    import psycopg

    rows = []
    with psycopg.connect(f"{PG_SERVER}/{dbname}", autocommit=True, connect_timeout=5) as conn:
        for statement in statements:
            cur = conn.execute(statement)
            rows.append(cur.fetchall() if cur.description else None)
    return rows


def setup_django() -> None:
    os.environ["DATABASE_URL"] = f"{PG_SERVER}/{DB_NAME}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "elearn.settings.test"
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    import django

    django.setup()


class QueryCounter:
    """Counts queries through an execute wrapper (no SQL kept: for the phases with many thousands)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql_, params, many, context):
        self.count += 1
        return execute(sql_, params, many, context)


def freeze_clock(now: datetime) -> None:
    from django.utils import timezone

    timezone.now = lambda: now  # timezone.localdate() reads it too


# --- seed ----------------------------------------------------------------------------------------


def seed_courses(work: Path) -> list:
    from courses.catalog import services
    from tests.course_helpers import write_tiny_course

    courses = []
    for n in range(1, 5):
        path = write_tiny_course(work, slug=f"bench-course-{n}", modules=("ma",), lessons_per_module=3)
        courses.append(services.load_course(path=path, publish=True).course)
    return courses


def seed_staff(staff: int, rule_start: date) -> dict:
    from accounts.models import Department, Role, User

    departments = Department.objects.bulk_create(
        Department(name=f"Bench department {d}", code=f"bench-{d}") for d in range(10)
    )
    titles = ["Registered Nurse", "Counsellor", "Care aide", "Peer worker", "Support staff"]
    admins = User.objects.bulk_create(
        User(
            username=f"admin-{d.code}",
            email=f"admin-{d.code}@bench.example.org",
            role=Role.DEPARTMENT_ADMIN,
            department=d,
            job_title=titles[0],
            hire_date=date(2015, 1, 1),
            password="!",
        )
        for d in departments
    )
    supervisors = User.objects.bulk_create(
        User(
            username=f"sup-{d.code}-{i}",
            email=f"sup-{d.code}-{i}@bench.example.org",
            role=Role.SUPERVISOR,
            department=d,
            job_title=titles[i % len(titles)],
            hire_date=date(2016, 1, 1),
            password="!",
        )
        for d in departments
        for i in range(5)
    )
    rest = staff - len(admins) - len(supervisors)
    people = []
    for i in range(rest):
        supervisor = supervisors[i % len(supervisors)]
        new_hire = i % 5 == 0
        people.append(
            User(
                username=f"staff-{i}",
                first_name="Staff",
                last_name=f"Member {i}",
                email="" if i % 10 == 0 else f"staff-{i}@bench.example.org",
                role=Role.LEARNER,
                department_id=supervisor.department_id,
                supervisor=supervisor,
                job_title=titles[i % len(titles)].upper() if i % 7 == 0 else titles[i % len(titles)],
                hire_date=rule_start + timedelta(days=i % 50)
                if new_hire
                else date(2018, 1, 1) + timedelta(days=i % 900),
                employee_id=f"B{i:06d}",
                password="!",
            )
        )
    User.objects.bulk_create(people, batch_size=1000)
    return {"departments": departments, "titles": titles, "people": staff}


def seed_rules(courses, departments, titles, rule_start: date) -> int:
    from courses.models import AssignmentRule

    rules = [
        AssignmentRule(name="Everyone: course 1", course=courses[0], start_date=rule_start, due_days=30),
        AssignmentRule(
            name="Everyone, yearly: course 2",
            course=courses[1],
            start_date=rule_start,
            due_days=45,
            recurrence_months=12,
        ),
    ]
    rules += [
        AssignmentRule(
            name=f"{d.name}: course 3",
            course=courses[2],
            audience="department",
            department=d,
            start_date=rule_start,
            due_days=60,
        )
        for d in departments
    ]
    rules += [
        AssignmentRule(
            name=f"{t}: course 4",
            course=courses[3],
            audience="job_title",
            job_title=t.lower(),
            start_date=rule_start,
            due_days=90,
        )
        for t in titles
    ]
    AssignmentRule.objects.bulk_create(rules)
    return len(rules)


# --- measurements --------------------------------------------------------------------------------


def measure_apply(*, batch_size: int, now: datetime) -> dict:
    """apply_rules with a CaptureQueriesContext around the whole run and around every batch."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from courses.assignments import services as assignments
    from courses.models import Enrollment

    per_batch: list[tuple[int, int]] = []  # (people in the batch, queries of the batch)
    original = assignments._apply_batch

    def counted(batch, *args, **kwargs):
        with CaptureQueriesContext(connection) as ctx:
            original(batch, *args, **kwargs)
        per_batch.append((len(batch), len(ctx.captured_queries)))

    before = Enrollment.objects.count()
    assignments._apply_batch = counted
    try:
        with CaptureQueriesContext(connection) as total:
            start = time.perf_counter()
            report = assignments.apply_rules(today=TODAY, now=now, batch_size=batch_size)
            seconds = time.perf_counter() - start
    finally:
        assignments._apply_batch = original
    created = Enrollment.objects.count() - before
    queries = len(total.captured_queries)
    batch_queries = sorted({q for _, q in per_batch})
    # Each batch also costs one query for its people (outside _apply_batch), plus one final empty fetch.
    fixed = queries - sum(q for _, q in per_batch) - report.batches - 1
    return {
        "batch_size": batch_size,
        "seconds": round(seconds, 3),
        "query_shapes": dict(Counter(_shape(q["sql"]) for q in total.captured_queries)),
        "people_examined": report.examined,
        "batches": report.batches,
        "enrollments_created": created,
        "queries_total": queries,
        "queries_per_batch_in_transaction": batch_queries,
        "queries_per_batch_including_people_fetch": [q + 1 for q in batch_queries],
        "batch_sizes_seen": sorted({n for n, _ in per_batch}),
        "queries_fixed_per_run": fixed,
        "constant_per_batch": len(batch_queries) <= 1,
    }


def _shape(statement: str) -> str:
    """A query's verb and table (SELECT ... FROM t, INSERT INTO t, UPDATE t): what runs how often."""
    words = statement.replace('"', "").split()
    verb = words[0].upper() if words else "?"
    keyword = {"SELECT": "FROM", "DELETE": "FROM", "INSERT": "INTO", "UPDATE": "UPDATE"}.get(verb)
    if keyword and keyword in words:
        return f"{verb} {words[words.index(keyword) + 1][:40]}"
    return verb[:40]


def spread_due_dates() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        # days from the due date: 7 before .. 28 after; every enrollment is inside the reminder window.
        cur.execute(
            "UPDATE courses_enrollment SET due_date = %s::date + 7 - (id %% 36)::int",
            [TODAY],
        )


def measure_plan(*, batch_size: int, now: datetime) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from courses.assignments import reminders
    from courses.models import Notification

    before = Notification.objects.count()
    with CaptureQueriesContext(connection) as ctx:
        start = time.perf_counter()
        report = reminders.plan_notifications(today=TODAY, now=now, batch_size=batch_size)
        seconds = time.perf_counter() - start
    queries = len(ctx.captured_queries)
    created = Notification.objects.count() - before
    # Every batch: the enrollments (with person and supervisor), the department admins, one insert.
    # The final empty fetch ends the loop.
    per_batch = (queries - 1) / report.batches if report.batches else None
    return {
        "batch_size": batch_size,
        "seconds": round(seconds, 3),
        "enrollments_examined": report.examined,
        "batches": report.batches,
        "notifications_planned": report.planned,
        "notifications_created": created,
        "queries_total": queries,
        "queries_per_batch": per_batch,
        "constant_per_batch": per_batch is not None and per_batch == int(per_batch),
        "query_shapes": dict(Counter(_shape(q["sql"]) for q in ctx.captured_queries)),
        "kinds": dict(Counter(Notification.objects.values_list("kind", flat=True))) if created else None,
    }


def measure_send() -> dict:
    from django.core import mail
    from django.db import connection

    from courses.assignments import reminders
    from courses.models import Notification

    counter = QueryCounter()
    emails = sent = calls = 0
    mail.outbox = []
    start = time.perf_counter()
    with connection.execute_wrapper(counter):
        while Notification.objects.filter(status="pending").exists():
            report = reminders.send_pending()
            calls += 1
            sent += report.sent
            emails += len(mail.outbox)
            mail.outbox.clear()
    seconds = time.perf_counter() - start
    return {
        "seconds": round(seconds, 3),
        "send_pending_calls": calls,
        "notifications_sent": sent,
        "emails": emails,
        "emails_per_second": round(emails / seconds, 1) if seconds else None,
        "queries_total": counter.count,
        "queries_per_email": round(counter.count / emails, 2) if emails else None,
        "statuses": dict(Counter(Notification.objects.values_list("status", flat=True))),
    }


# --- main ----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--staff", type=int, default=5000)
    parser.add_argument("--keep-db", action="store_true", help=f"leave {DB_NAME} for inspection")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    if not 100 <= args.staff <= 50000:
        parser.error("--staff 100-50000 keeps the run bounded")

    sql("postgres", f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)", f"CREATE DATABASE {DB_NAME}")
    try:
        setup_django()
        from django.conf import settings
        from django.core.management import call_command

        from courses.models import Enrollment
        from tests.onboarding_helpers import local_dt

        t0 = time.perf_counter()
        call_command("migrate", verbosity=0)
        log(f"migrated {DB_NAME} in {time.perf_counter() - t0:.1f}s")
        now = local_dt(TODAY, 7)
        freeze_clock(now)
        rule_start = TODAY - timedelta(days=120)
        with tempfile.TemporaryDirectory(prefix="onboarding-bench-") as work:
            courses = seed_courses(Path(work))
        seeded = seed_staff(args.staff, rule_start)
        rule_count = seed_rules(courses, seeded["departments"], seeded["titles"], rule_start)
        sql(DB_NAME, "VACUUM ANALYZE")
        log(f"seeded {args.staff} staff, {len(courses)} courses, {rule_count} rules")

        apply_first = measure_apply(batch_size=1000, now=now)
        log(f"apply_rules: {apply_first}")
        apply_again = measure_apply(batch_size=1000, now=now)
        log(f"apply_rules again: {apply_again}")
        Enrollment.objects.all().delete()
        apply_500 = measure_apply(batch_size=500, now=now)
        log(f"apply_rules, batches of 500 (from scratch): {apply_500}")

        spread_due_dates()
        enrollments = Enrollment.objects.count()
        plan = measure_plan(batch_size=2000, now=now)
        log(f"plan_notifications: {plan}")
        plan_again = measure_plan(batch_size=1000, now=now)
        log(f"plan_notifications again, batches of 1000: {plan_again}")
        send = measure_send()
        log(f"send_pending: {send}")

        import django

        results = {
            "command": ".venv/bin/python tests/bench/bench_onboarding.py"
            + (f" --staff {args.staff}" if args.staff != 5000 else ""),
            "environment": {
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "cpus": os.cpu_count(),
                "loadavg_before": list(os.getloadavg()),
                "python": platform.python_version(),
                "django": django.get_version(),
                "postgresql": sql("postgres", "SHOW server_version")[0][0][0],
                "settings": "elearn.settings.test (one plain connection), locmem email",
                "frozen_now": now.isoformat(),
            },
            "seed": {
                "staff": args.staff,
                "courses": len(courses),
                "rules": rule_count,
                "reminder_offsets_days": settings.REMINDER_OFFSETS_DAYS,
                "escalate_supervisor_after_days": settings.ESCALATE_SUPERVISOR_AFTER_DAYS,
                "escalate_department_admin_after_days": settings.ESCALATE_DEPARTMENT_ADMIN_AFTER_DAYS,
            },
            "apply_rules": {"first_run": apply_first, "second_run": apply_again, "batches_of_500": apply_500},
            "reminders": {
                "enrollments": enrollments,
                "plan": plan,
                "plan_again": plan_again,
                "send": send,
            },
        }
        ok = (
            apply_first["enrollments_created"] == args.staff * 4
            and apply_again["enrollments_created"] == 0
            and apply_first["constant_per_batch"]
            and apply_500["constant_per_batch"]
            and plan["constant_per_batch"]
            and plan_again["notifications_created"] == 0
            and send["statuses"].get("pending", 0) == 0
        )
        results["checks_passed"] = ok
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(results, indent=2, default=str) + "\n")
        log(f"wrote {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}")
        return 0 if ok else 1
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001,S110 - Django may not be set up yet
            pass
        if not args.keep_db:
            sql("postgres", f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


if __name__ == "__main__":
    sys.exit(main())
