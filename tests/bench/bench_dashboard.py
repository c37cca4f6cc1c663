"""Dashboard benchmark (DESIGN.md "Performance"): the supervisor team progress page and the CSV export
memory at demo-organisation scale. Not collected by pytest (tests/bench/conftest.py ignores this folder).

    .venv/bin/python tests/bench/bench_dashboard.py [--staff 5000] [--answers-per-person 200] [--copy]
                                                    [--requests 20] [--keep-db | --reuse-db]

1. Creates the database `elearn_bench_dashboard` on the local PostgreSQL (dropped and recreated each
   run, dropped again at the end unless --keep-db; --reuse-db measures what a --keep-db run left
   there instead, without generating again), migrates it with the benchmark's production
   settings (tests/bench/app_settings.py) and collects static files into a temporary folder.
2. Generates the demo organisation with `manage.py generate_demo_org --demo-review` (5,000 staff in 20
   departments under one top supervisor, about 1,000,000 answers; `--copy` inserts attempts and
   answers with COPY instead of bulk_create), then VACUUM ANALYZE.
3. Starts the real app under gunicorn with the production gunicorn.conf.py (gthread, 2 workers x 4
   threads, pool of 4, max_requests off as in run_bench.py), logs in as the top supervisor through
   the login form (a real session cookie), and times GET /team/ (50 rows plus the summary cards of all
   5,000 people): 5 unrecorded warm-up requests, then --requests sequential requests; p50/p95/max.
   Other report pages are timed the same way for reference.
   The query count of the same page is taken in process (Django's test client with a real session
   from the login form, CaptureQueriesContext), since a gunicorn worker does not expose it; the test
   client's own timings are reported too.
4. CSV export memory: the raw answers export (courses.reports.exports.run_export) runs in a fresh subprocess,
   once for a viewer who sees about 100,000 answers and once for one who sees about 1,000,000; each
   subprocess reports its peak resident memory (VmHWM from /proc/self/status, and ru_maxrss). The
   growth between the two is the figure (target: under 30 MB).
5. Prints the numbers and writes tests/bench/results/dashboard.json.

Targets: p95 of the warm requests under 200 ms with at most 15 queries; export growth under 30 MB.
Only 127.0.0.1 is contacted; every process started here is stopped on exit, Ctrl-C included.
"""

import argparse
import contextlib
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("BENCH_DB_NAME", "elearn_bench_dashboard")
DB_URL = f"{PG_SERVER}/{DB_NAME}"
RESULTS = ROOT / "tests" / "bench" / "results" / "dashboard.json"
TARGETS = {
    "team_page_p95_ms": 200,
    "team_page_queries": 15,
    "export_growth_mb": 30,
    "quiz_statistics_p95_ms": 200,  # issue 18: item statistics served from stored results
}
PROCESSES: list[subprocess.Popen] = []


def log(message: str) -> None:
    print(f"[dashboard-bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def sql(dbname: str, *statements: str) -> list:
    import psycopg

    rows = []
    with psycopg.connect(f"{PG_SERVER}/{dbname}", autocommit=True, connect_timeout=5) as conn:
        for statement in statements:
            cur = conn.execute(statement)
            rows.append(cur.fetchall() if cur.description else None)
    return rows


def run(cmd: list[str], *, env: dict, timeout: float) -> str:
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(
            f"{cmd[:4]} failed ({result.returncode}):\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    return result.stdout


def stop_all() -> None:
    for proc in PROCESSES:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    for proc in PROCESSES:
        try:
            proc.wait(timeout=25)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    PROCESSES.clear()


def _on_signal(signum, frame):
    raise SystemExit(128 + signum)


def free_port() -> int:
    """A free port, from BENCH_PORTS ("8108-8118") when given, so parallel checkouts keep to their own."""
    low, _, high = os.environ.get("BENCH_PORTS", "0-0").partition("-")
    for port in range(int(low), int(high) + 1):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError(f"no free port in BENCH_PORTS={os.environ['BENCH_PORTS']}")


def wait_ready(url: str, proc: subprocess.Popen, logfile: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}):\n{logfile.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - 127.0.0.1 only
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} not ready after {timeout}s; see {logfile}")


# --- an HTTP client with a real session ----------------------------------------------------------


class Session:
    """Keep-alive connection to the server, cookies kept by hand (production cookies are Secure, and
    this client talks plain HTTP to 127.0.0.1)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None):
        headers = {"Host": "127.0.0.1", **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt:
                    raise
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.will_close:
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        return response.status, dict(response.getheaders()), data

    def login(self, username: str, password: str) -> None:
        status, _, page = self.request("GET", "/accounts/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or token is None:
            raise RuntimeError(f"login page: {status}")
        form = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": token.group(1).decode()}
        )
        status, headers, _ = self.request(
            "POST",
            "/accounts/login/",
            body=form,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Referer": "http://127.0.0.1/"},
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"login failed: {status} {headers}")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * share
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def time_page(session: Session, path: str, *, warmup: int, requests: int, check=None) -> dict:
    for _ in range(warmup):
        status, _, page = session.request("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {page[:300]!r}")
    timings = []
    for _ in range(requests):
        began = time.perf_counter()
        status, _, page = session.request("GET", path)
        timings.append((time.perf_counter() - began) * 1000)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status}")
    if check is not None:
        check(page)
    return {
        "path": path,
        "requests": requests,
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(percentile(timings, 0.95), 1),
        "max_ms": round(max(timings), 1),
        "min_ms": round(min(timings), 1),
        "bytes": len(page),
    }


# --- in process: query count with the test client ------------------------------------------------

IN_PROCESS = r"""
import json, statistics, sys, time
import django
django.setup()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
username, password, paths, n = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
client = Client(HTTP_HOST="127.0.0.1")
page = client.get("/accounts/login/")
response = client.post("/accounts/login/", {"username": username, "password": password})
assert response.status_code == 302, response.status_code
out = {}
for path in paths:
    for _ in range(3):
        client.get(path)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    captured = list(ctx.captured_queries)  # read now: the next request resets the connection's log
    assert response.status_code == 200, (path, response.status_code)
    timings = []
    for _ in range(n):
        began = time.perf_counter()
        client.get(path)
        timings.append((time.perf_counter() - began) * 1000)
    timings.sort()
    out[path] = {
        "queries": len(captured),
        "query_ms_total": round(sum(float(q["time"]) for q in captured) * 1000, 1),
        "slowest_queries_ms": sorted((round(float(q["time"]) * 1000, 1) for q in captured), reverse=True)[:5],
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))], 1),
    }
print("BENCH_JSON " + json.dumps(out))
"""

RESTORE_ORG = (
    "UPDATE accounts_user SET supervisor_id = (SELECT id FROM accounts_user WHERE username = 'demo-top') "
    "WHERE supervisor_id = (SELECT id FROM accounts_user WHERE username = 'bench-export-sup')",
    "DELETE FROM courses_exportjob",
    "DELETE FROM accounts_user WHERE username = 'bench-export-sup'",
)
COUNTS = (
    "SELECT (SELECT count(*) FROM accounts_user), (SELECT count(*) FROM courses_enrollment), "
    "(SELECT count(*) FROM quizzes_attempt), (SELECT count(*) FROM quizzes_answer)"
)
SET_PASSWORD = r"""
import sys
import django
django.setup()
from accounts.models import User
user = User.objects.get(username=sys.argv[1])
user.set_password(sys.argv[2])
user.save(update_fields=["password"])
print("BENCH_JSON {}")
"""

EXPORT = r"""
import json, resource, sys, time
import django
django.setup()
from django.utils import timezone
from accounts.models import User
from courses import exports
from courses.models import ExportJob


def hwm_kb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])


user = User.objects.get(username=sys.argv[1])
job = ExportJob.objects.create(kind="answers", requested_by=user, created_at=timezone.now())
exports.Answer.objects.order_by().first()  # imports and the first connection done before measuring
before = hwm_kb()
began = time.perf_counter()
rows = exports.run_export(job_id=job.pk)
seconds = time.perf_counter() - began
job.refresh_from_db()
size = job.file.size
job.file.delete(save=False)
print("BENCH_JSON " + json.dumps({
    "viewer": user.username,
    "rows": rows,
    "seconds": round(seconds, 2),
    "csv_bytes": size,
    "vmhwm_before_kb": before,
    "vmhwm_after_kb": hwm_kb(),
    "ru_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}))
"""


def in_process(code: str, args: list[str], env: dict, timeout: float = 900) -> dict:
    out = run([str(PYTHON), "-c", code, *args], env=env, timeout=timeout)
    match = re.search(r"^BENCH_JSON (\{.*\})$", out, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no result:\n{out[-2000:]}")
    return json.loads(match.group(1))


# --- main ----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--staff", type=int, default=5000)
    parser.add_argument("--departments", type=int, default=20)
    parser.add_argument("--answers-per-person", type=int, default=200)
    parser.add_argument(
        "--copy", action="store_true", help="generate_demo_org --copy (COPY instead of bulk_create)"
    )
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--keep-db", action="store_true", help=f"leave {DB_NAME} for inspection")
    parser.add_argument(
        "--reuse-db", action="store_true", help=f"measure the organisation a --keep-db run left in {DB_NAME}"
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--skip-export", action="store_true", help="time the pages only (no CSV export memory run)"
    )
    args = parser.parse_args()
    if not 100 <= args.staff <= 50000 or not 5 <= args.requests <= 1000:
        parser.error("--staff 100-50000 and --requests 5-1000 keep the run bounded")

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    work = Path(tempfile.mkdtemp(prefix="elearn-dashboard-bench-"))
    password = secrets.token_urlsafe(18)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "tests.bench.dashboard_settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
        "AUDIT_HMAC_KEY": "test-only-audit-hmac-key-not-a-secret",  # as elearn.settings.test
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": DB_URL,
        "CELERY_BROKER_URL": os.environ.get("BENCH_CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_POOL_MAX": "4",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "4",
        "BENCH_STATIC_ROOT": str(work / "static"),
        "MEDIA_ROOT": str(work / "media"),
        "LOG_LEVEL": "WARNING",
    }
    setup_env = {**env, "DATABASE_POOL": "false"}
    results: dict = {"targets": TARGETS}
    try:
        load_before = list(os.getloadavg())
        if args.reuse_db:
            previous = json.loads(args.output.read_text()) if args.output.exists() else {}
            sql(DB_NAME, *RESTORE_ORG)  # undo what a run stopped halfway may have left
            run([str(PYTHON), "manage.py", "collectstatic", "--noinput", "-v0"], env=setup_env, timeout=1200)
            in_process(SET_PASSWORD, ["demo-top", password], setup_env, timeout=120)
            counts = sql(DB_NAME, COUNTS)[0][0]
            results["generate"] = {
                **previous.get("generate", {}),
                "reused": "database kept by an earlier run (--keep-db); numbers above are that run's",
                "users": counts[0],
                "enrollments": counts[1],
                "attempts": counts[2],
                "answers": counts[3],
            }
            log(f"reusing {DB_NAME}: {counts[3]:,} answers")
        else:
            sql("postgres", f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)", f"CREATE DATABASE {DB_NAME}")
            t0 = time.monotonic()
            run([str(PYTHON), "manage.py", "migrate", "--noinput"], env=setup_env, timeout=900)
            run([str(PYTHON), "manage.py", "collectstatic", "--noinput", "-v0"], env=setup_env, timeout=1200)
            log(f"migrated {DB_NAME} and collected static files in {time.monotonic() - t0:.0f}s; generating")
            command = [
                str(PYTHON), "manage.py", "generate_demo_org", "--demo-review",
                "--staff", str(args.staff), "--departments", str(args.departments),
                "--answers-per-person", str(args.answers_per_person), "--password", password,
            ] + (["--copy"] if args.copy else [])  # fmt: skip
            t0 = time.monotonic()
            out = run(command, env=setup_env, timeout=3600)
            generate_seconds = time.monotonic() - t0
            log(out.strip().splitlines()[-3])
            counts = sql(DB_NAME, COUNTS)[0][0]
            t0 = time.monotonic()
            sql(DB_NAME, "VACUUM ANALYZE")
            results["generate"] = {
                "command": " ".join(c if c != password else "***" for c in command[1:]),
                "wall_seconds": round(generate_seconds, 1),
                "command_output": [
                    line for line in out.splitlines() if "Done in" in line or "timings" in line
                ],
                "users": counts[0],
                "enrollments": counts[1],
                "attempts": counts[2],
                "answers": counts[3],
                "vacuum_analyze_seconds": round(time.monotonic() - t0, 1),
            }
            log(f"generated in {generate_seconds:.0f}s: {results['generate']}")
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(json.dumps(results, indent=2) + "\n")  # kept if a later step fails

        # --- (a) the team progress page under gunicorn -------------------------------------------
        port = free_port()
        logfile = work / "gunicorn.log"
        extra = ["--max-requests", "0"]
        if "--no-control-socket" in run([str(GUNICORN), "--help"], env=env, timeout=60):
            extra.append("--no-control-socket")
        proc = subprocess.Popen(
            [str(GUNICORN), "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", *extra],
            cwd=ROOT,
            env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
            stdout=logfile.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        PROCESSES.append(proc)
        wait_ready(f"http://127.0.0.1:{port}/healthz", proc, logfile)
        session = Session(port)
        session.login("demo-top", password)
        quiz_id = sql(
            DB_NAME,
            "SELECT m.quiz_id FROM courses_module m ORDER BY m.position LIMIT 1",
        )[0][0][0]
        person_id = sql(DB_NAME, "SELECT id FROM accounts_user WHERE username = 'demo-staff-00001'")[0][0][0]

        def check_team(page: bytes) -> None:
            rows = page.count(b'<th scope="row">')
            people = re.search(rb"<strong>(\d+)</strong><span>people</span>", page)
            if rows != 50 or people is None or int(people.group(1)) != args.staff:
                raise RuntimeError(f"team page: {rows} rows, summary {people and people.group(1)}")

        log(f"gunicorn on 127.0.0.1:{port}; timing /team/ ({args.requests} warm requests)")
        team = time_page(session, "/team/", warmup=5, requests=args.requests, check=check_team)
        others = [
            time_page(session, path, warmup=3, requests=args.requests)
            for path in (
                "/team/?sort=-progress&status=in_progress",
                "/team/overdue/",
                f"/team/quizzes/{quiz_id}/",
                "/team/completions/",
                f"/team/people/{person_id}/",
            )
        ]
        statistics_page = next(row for row in others if row["path"] == f"/team/quizzes/{quiz_id}/")
        results["quiz_statistics_page"] = statistics_page
        stop_all()
        paths = ["/team/", "/team/overdue/", f"/team/quizzes/{quiz_id}/", f"/team/people/{person_id}/"]
        client = in_process(
            IN_PROCESS, ["demo-top", password, json.dumps(paths), str(args.requests)], {**env, **setup_env}
        )
        results["team_page"] = {
            "measured": "through gunicorn (production settings and gunicorn.conf.py, 2 workers x 4 threads, "
            "pool of 4), sequential requests on one keep-alive connection with the session cookie of a "
            "login through the form; query counts in process with Django's test client logged in the same way",
            "viewer": "demo-top (supervisor of every generated person, all indirect)",
            "gunicorn": team,
            "queries": client["/team/"]["queries"],
            "test_client": client["/team/"],
        }
        results["other_pages"] = {"gunicorn": others, "test_client": client}
        log(f"/team/: {team}; queries {client['/team/']['queries']}")
        for row in others:
            log(f"{row['path']}: p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms")

        growth_mb = None
        if not args.skip_export:
            # --- (b) CSV export memory ---------------------------------------------------------------
            # A viewer who sees about 100,000 answers: a supervisor over the heads of the first few
            # departments (added for this measurement; it changes nothing the page benchmark saw).
            per_department = sql(
                DB_NAME,
                "SELECT u.department_id, count(*) FROM quizzes_answer a JOIN quizzes_attempt t ON t.id = a.attempt_id "
                "JOIN accounts_user u ON u.id = t.user_id WHERE u.department_id IS NOT NULL "
                "GROUP BY 1 ORDER BY 1",
            )[0]
            chosen, total = [], 0
            for department_id, n in per_department:
                if total >= 100_000:
                    break
                chosen.append(department_id)
                total += n
            ids = ",".join(str(d) for d in chosen)
            sql(DB_NAME, *RESTORE_ORG)  # a run stopped halfway may have left the viewer behind
            sql(
                DB_NAME,
                "INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email, "
                "is_staff, is_active, date_joined, role, job_title, licence_number, supervisor_id) "
                "SELECT '!', false, 'bench-export-sup', 'Bench', 'Export', '', false, true, now(), 'supervisor', "
                "'', '', id FROM accounts_user WHERE username = 'demo-top'",
                "UPDATE accounts_user SET supervisor_id = (SELECT id FROM accounts_user WHERE username = "
                f"'bench-export-sup') WHERE username LIKE 'demo-head-%' AND department_id IN ({ids})",
            )
            export_env = {**env, **setup_env}
            small = in_process(EXPORT, ["bench-export-sup"], export_env)
            large = in_process(EXPORT, ["demo-top"], export_env)
            sql(DB_NAME, *RESTORE_ORG)  # the organisation as generated again (for --keep-db)
            growth_mb = (large["vmhwm_after_kb"] - small["vmhwm_after_kb"]) / 1024
            results["export"] = {
                "measured": "courses.reports.exports.run_export of the raw answers export in a fresh subprocess each "
                "(production settings, no pool), peak resident memory (VmHWM) at the end",
                "small": small,
                "large": large,
                "growth_mb": round(growth_mb, 1),
                "rss_maxrss_growth_mb": round((large["ru_maxrss_kb"] - small["ru_maxrss_kb"]) / 1024, 1),
            }
            log(
                f"export: {small['rows']:,} rows peak {small['vmhwm_after_kb'] / 1024:.1f} MB; "
                f"{large['rows']:,} rows peak {large['vmhwm_after_kb'] / 1024:.1f} MB; growth {growth_mb:.1f} MB"
            )

        import django

        results["environment"] = {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "cpus": os.cpu_count(),
            "loadavg_before": load_before,
            "loadavg_after": list(os.getloadavg()),
            "python": platform.python_version(),
            "django": django.get_version(),
            "postgresql": sql("postgres", "SHOW server_version")[0][0][0],
            "note": "shared 2-core machine: other sessions' tests run alongside; see loadavg",
        }
        results["command"] = ".venv/bin/python tests/bench/bench_dashboard.py" + " ".join(
            [""] + [a for a in sys.argv[1:] if a != "--keep-db"]
        )
        verdict = {
            "team_page_p95_ms": team["p95_ms"] < TARGETS["team_page_p95_ms"],
            "team_page_queries": results["team_page"]["queries"] <= TARGETS["team_page_queries"],
            **({} if growth_mb is None else {"export_growth_mb": growth_mb < TARGETS["export_growth_mb"]}),
            "quiz_statistics_p95_ms": statistics_page["p95_ms"] < TARGETS["quiz_statistics_p95_ms"],
        }
        results["verdict"] = verdict
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(results, indent=2, default=str) + "\n")
        log(f"verdict {verdict}; wrote {args.output}")
        return 0 if all(verdict.values()) else 1
    finally:
        stop_all()
        if not args.keep_db and not args.reuse_db:
            with contextlib.suppress(Exception):
                sql("postgres", f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        if not os.environ.get("BENCH_KEEP_WORKDIR"):
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"kept {work}")


if __name__ == "__main__":
    sys.exit(main())
