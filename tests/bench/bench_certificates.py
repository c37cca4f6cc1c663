"""Certificate benchmarks (issue 7): PDFs per second from one warm worker process, and the latency of the
public verification API under gunicorn. Not collected by pytest (tests/bench/conftest.py).

    .venv/bin/python tests/bench/bench_certificates.py [--pdfs 200] [--duration 15] [--keep-db]

1. Creates the database `elearn_bench_certs` on the local PostgreSQL (dropped and recreated each run,
   dropped again at the end unless --keep-db) and migrates the real app into it.
2. PDF throughput: one process with the production settings (tests/bench/app_settings.py, the same
   work-around as run_bench.py; one plain connection, as a Celery worker process holds) seeds one CE
   course and completed enrollments, issues their certificates (issue_certificate, timed on its own),
   warms up with 10 renders, then times --pdfs calls of `render_certificate_pdf` on fresh certificates:
   HTML template, segno QR code, WeasyPrint with the locked url_fetcher, the file stored in MEDIA_ROOT
   (a temporary directory) and the row updated. Reported: PDFs/s (target >= 10), the per-PDF latency
   and how much of it is rendering alone. The same process writes the verification codes for step 3.
3. Verification latency: the real app under the production gunicorn.conf.py (gthread, 2 workers x 4
   threads), production settings with a pool of 4 connections per process, the cache (and so the rate
   limiter) in Redis db 5 with VERIFY_RATE_LIMIT_PER_MINUTE at 10**9 (the limiter runs on every request
   but never refuses). wrk (2 threads, 4 connections, --duration s, after a 3 s unrecorded warm-up)
   GETs /api/v1/certificates/verify/<code>/ over a shuffled list, half valid codes, half unknown
   (tests/bench/verify.lua). Reported: p50/p90/p99 and req/s (target p99 < 10 ms). Then two shorter
   runs, valid codes only and unknown codes only, show that both answer in the same time, and one on
   /healthz (all middleware, no database, no cache) gives the floor of this stack on this machine.
4. Prints the numbers and writes tests/bench/results/certificates.json.

Like run_bench.py, gunicorn runs with the production max_requests (200,000; --no-max-requests turns it
off). BENCH_DB_NAME, BENCH_REDIS_DB and BENCH_PORTS ("8108-8118") keep parallel checkouts apart.
Only 127.0.0.1 is contacted. Every process started here is stopped on exit, Ctrl-C included.
"""

import argparse
import contextlib
import http.client
import json
import os
import platform
import random
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "tests" / "bench"
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")
DB_NAME = os.environ.get("BENCH_DB_NAME", "elearn_bench_certs")
CACHE_DB = int(os.environ.get("BENCH_REDIS_DB", "5"))
RESULTS = BENCH / "results" / "certificates.json"
TARGETS = {"pdf_per_second": 10.0, "verify_p99_ms": 10.0}
VALID_CODES = 2000

PROCESSES: list[subprocess.Popen] = []


def log(message: str) -> None:
    print(f"[cert-bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- processes and database (small copies of run_bench.py's helpers) ----------------------------------


def start(cmd: list[str], *, env: dict, logfile: Path) -> subprocess.Popen:
    out = logfile.open("ab")
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    PROCESSES.append(proc)
    return proc


def stop_all() -> None:
    """Stop the process groups started here (the gunicorn master and its workers), and only those."""
    for proc in PROCESSES:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 25
    for proc in PROCESSES:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    PROCESSES.clear()


def _on_signal(signum, frame):
    raise SystemExit(128 + signum)


def run(cmd: list[str], *, env: dict, timeout: float, logfile: Path) -> str:
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    with logfile.open("a") as fh:
        fh.write(f"$ {' '.join(map(str, cmd))}\n{result.stdout}{result.stderr}\n")
    if result.returncode != 0:
        raise RuntimeError(
            f"{cmd[:4]} failed ({result.returncode}):\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    return result.stdout


def free_port() -> int:
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
            raise RuntimeError(
                f"server exited ({proc.returncode}); see {logfile}:\n{logfile.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - 127.0.0.1 only
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} not ready after {timeout}s; see {logfile}")


def sql(dbname: str, *statements: str) -> list:
    import psycopg

    rows = []
    with psycopg.connect(f"{PG_SERVER}/{dbname}", autocommit=True, connect_timeout=5) as conn:
        for statement in statements:
            cur = conn.execute(statement)
            rows.append(cur.fetchall() if cur.description else None)
    return rows


def get_json(port: int, path: str) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Accept": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


# --- step 2: the PDF worker (runs in its own process, production settings) --------------------------


def pdf_worker(work: Path, count: int, warmup: int) -> None:
    """Seed, issue, warm up, then time `count` render_certificate_pdf calls. Writes pdf.json and the
    verification paths (valid.txt) into `work`."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from datetime import date
    from decimal import Decimal

    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from courses.certificates import services as certificates
    from courses.models import Certificate, Course, CourseVersion, Enrollment

    assert Path(settings.MEDIA_ROOT).is_relative_to(work), settings.MEDIA_ROOT
    now = timezone.now()
    course = Course.objects.create(
        slug="substance-use-safety",
        title="Substance use safety: overdose, naloxone and dangerous combinations",
        ce_hours=Decimal("2.50"),
        validity_months=24,
        provider_approval_number="PA-2030-0042",
        accrediting_statement="Approved by the State Board of Nursing for 2.5 contact hours.",
    )
    version = CourseVersion.objects.create(
        course=course,
        number=1,
        content_hash="0" * 64,
        status=CourseVersion.Status.PUBLISHED,
        medical_reviewer="Dr Bench Reviewer",
        medical_review_date=date(2026, 1, 15),
        loaded_at=now,
        published_at=now,
    )
    total = max(VALID_CODES, count + warmup)
    first_names = ["Ada", "Grace", "Mary-Catherine", "Jean", "Tomás", "Zoë", "Oluwaseun", "Nguyễn"]
    last_names = ["Lovelace", "Hopper", "O'Donnell", "Dupont", "García", "Müller", "Adeyemi", "Văn An"]
    users = User.objects.bulk_create(
        User(
            username=f"bench{i}",
            first_name=first_names[i % 8],
            last_name=last_names[(i // 8) % 8],
            email=f"bench{i}@example.org",
            licence_number=f"RN-{100000 + i}",
            password="!",  # noqa: S106 - unusable password
        )
        for i in range(total)
    )
    enrollments = Enrollment.objects.bulk_create(
        Enrollment(
            user=u,
            course=course,
            version=version,
            status=Enrollment.Status.COMPLETED,
            enrolled_at=now,
            started_at=now,
            completed_at=now,
            progress_percent=100,
        )
        for u in users
    )
    # CE course: the evaluation is the gate; bulk-insert them (what submit_evaluation stores).
    from courses.models import CourseEvaluation

    CourseEvaluation.objects.bulk_create(
        CourseEvaluation(
            enrollment=e, ratings={"relevance": 5, "clarity": 4, "confidence": 5}, submitted_at=now
        )
        for e in enrollments
    )
    began = time.perf_counter()
    ids = []
    for enrollment in enrollments:
        outcome = certificates.issue_certificate(enrollment_id=enrollment.pk)
        ids.append(outcome.certificate.pk)
    issue_seconds = time.perf_counter() - began

    for certificate_id in ids[:warmup]:
        certificates.render_certificate_pdf(certificate_id=certificate_id)
    timed = ids[warmup : warmup + count]
    render_only = []
    for certificate_id in timed[:20]:  # rendering alone, for the breakdown (not stored)
        certificate = Certificate.objects.get(pk=certificate_id)
        t = time.perf_counter()
        certificates.render_pdf_bytes(certificate)
        render_only.append(time.perf_counter() - t)

    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    latencies = []
    began = time.perf_counter()
    for certificate_id in timed:
        t = time.perf_counter()
        certificates.render_certificate_pdf(certificate_id=certificate_id)
        latencies.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - began
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)

    stored = Certificate.objects.filter(pk__in=timed).exclude(pdf="")
    files = [Path(settings.MEDIA_ROOT) / c.pdf.name for c in stored]
    sizes = [f.stat().st_size for f in files]
    assert len(files) == count and all(f.read_bytes()[:5] == b"%PDF-" for f in files), "PDFs not stored"
    latencies.sort()

    def pct(p):
        return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000, 1)

    (work / "pdf.json").write_text(
        json.dumps(
            {
                "pdfs": count,
                "warmup_pdfs": warmup,
                "seconds": round(elapsed, 2),
                "pdf_per_second": round(count / elapsed, 2),
                "latency_ms": {"p50": pct(50), "p90": pct(90), "p99": pct(99), "max": pct(100)},
                "render_only_ms_median": round(statistics.median(render_only) * 1000, 1),
                "cpu_seconds_per_pdf": round(
                    ((cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)) / count, 4
                ),
                "pdf_kib_median": round(statistics.median(sizes) / 1024, 1),
                "issue_per_second": round(len(ids) / issue_seconds, 1),
                "certificates_issued": len(ids),
                "paper": settings.CERTIFICATE_PAPER,
            }
        )
    )
    codes = list(Certificate.objects.values_list("verify_code", flat=True))
    (work / "valid.txt").write_text("\n".join(codes) + "\n")
    connection.close()


# --- step 3: wrk ------------------------------------------------------------------------------------


def write_paths(work: Path, valid: list[str], *, valid_share: float, count: int, name: str) -> Path:
    """`count` request paths, `valid_share` of them valid codes, the rest fresh unknown codes of the
    same length and alphabet, shuffled."""
    rng = random.Random(7)  # noqa: S311 - a benchmark mix, not a secret
    paths = []
    for i in range(count):
        if i < count * valid_share:
            code = valid[i % len(valid)]
        else:
            code = secrets.token_urlsafe(18)
        paths.append(f"/api/v1/certificates/verify/{code}/")
    rng.shuffle(paths)
    path = work / name
    path.write_text("\n".join(paths) + "\n")
    return path


def wrk(port: int, paths: Path, *, duration: int, threads: int, connections: int) -> dict:
    cmd = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
        "-s", str(BENCH / "verify.lua"), f"http://127.0.0.1:{port}", "--", str(paths),
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    match = re.search(r"^BENCH_JSON (\{.*\})$", out.stdout, re.MULTILINE)
    if out.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    data = json.loads(match.group(1))
    seconds = data["duration_us"] / 1e6
    lat = data["latency_us"]
    return {
        "requests": data["requests"],
        "seconds": round(seconds, 2),
        "rps": round(data["requests"] / seconds, 1),
        "p50_ms": lat["p50"] / 1000,
        "p90_ms": lat["p90"] / 1000,
        "p99_ms": lat["p99"] / 1000,
        "p999_ms": lat["p999"] / 1000,
        "max_ms": lat["max"] / 1000,
        "errors": data["errors"],
        "error_count": sum(data["errors"].values()),
    }


def environment_info() -> dict:
    def version(cmd):
        try:
            return (
                subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
            )
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return None

    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "loadavg_before": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "weasyprint": version([str(PYTHON), "-c", "import weasyprint; print(weasyprint.__version__)"]),
        "postgresql": sql("postgres", "SHOW server_version")[0][0][0],
        "wrk": version(["sh", "-c", "wrk -v 2>&1"]),
    }


def rate_limit_keys(port: int) -> int:
    """How many rate-limit counters the app wrote in its cache (Redis): proof the limiter ran."""
    import redis

    client = redis.Redis.from_url(f"{REDIS}/{CACHE_DB}", socket_timeout=5)
    try:
        return sum(1 for _ in client.scan_iter(match="*rl:verify:*", count=1000))
    finally:
        client.close()


# --- main -------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pdfs", type=int, default=200, help="PDFs rendered and stored, timed")
    parser.add_argument("--warmup-pdfs", type=int, default=10)
    parser.add_argument("--duration", type=int, default=15, help="seconds of the main wrk run")
    parser.add_argument("--split-duration", type=int, default=5, help="seconds of the valid/unknown runs")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections")
    parser.add_argument("--pool", type=int, default=4, help="DATABASE_POOL_MAX of each server process")
    parser.add_argument("--no-max-requests", action="store_true", help="turn gunicorn's max_requests off")
    parser.add_argument("--keep-db", action="store_true", help=f"leave {DB_NAME} for inspection")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--worker-pdf", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker_pdf:
        pdf_worker(args.worker_pdf, args.pdfs, args.warmup_pdfs)
        return 0
    if not 1 <= args.pdfs <= 5000 or not 1 <= args.duration <= 120 or not 1 <= args.split_duration <= 60:
        parser.error("--pdfs 1-5000, --duration 1-120 and --split-duration 1-60 keep the run bounded")
    if shutil.which("wrk") is None:
        log("wrk is missing: installing the Debian package")
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, timeout=600)

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    work = Path(tempfile.mkdtemp(prefix="elearn-cert-bench-"))
    db_url = f"{PG_SERVER}/{DB_NAME}"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "tests.bench.app_settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
        "AUDIT_HMAC_KEY": "test-only-audit-hmac-key-not-a-secret",  # as elearn.settings.test
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": db_url,
        "CELERY_BROKER_URL": os.environ.get("BENCH_CELERY_BROKER_URL", f"{REDIS}/{CACHE_DB}"),
        "CACHE_URL": f"{REDIS}/{CACHE_DB}",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "MEDIA_ROOT": str(work / "media"),
        "PUBLIC_BASE_URL": "https://training.example.org",
        "VERIFY_RATE_LIMIT_PER_MINUTE": str(10**9),
        "DATABASE_POOL_MAX": str(args.pool),
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "4",
    }
    plain_env = {**env, "DATABASE_POOL": "false"}  # migrate and the PDF worker: one plain connection
    setup_log = work / "setup.log"
    try:
        info = environment_info()
        log(f"work dir {work}; {info['cpus']} CPUs, load {info['loadavg_before']}")
        sql("postgres", f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)", f"CREATE DATABASE {DB_NAME}")
        t0 = time.monotonic()
        run([str(PYTHON), "manage.py", "migrate", "--noinput"], env=plain_env, timeout=600, logfile=setup_log)
        log(f"migrated {DB_NAME} in {time.monotonic() - t0:.0f}s; PDF worker: {args.pdfs} PDFs")

        run(
            [str(PYTHON), str(Path(__file__).resolve()), "--worker-pdf", str(work), "--pdfs", str(args.pdfs),
             "--warmup-pdfs", str(args.warmup_pdfs)],
            env=plain_env, timeout=1800, logfile=setup_log,
        )  # fmt: skip
        pdf = json.loads((work / "pdf.json").read_text())
        log(f"PDF: {pdf['pdf_per_second']} PDFs/s, p50 {pdf['latency_ms']['p50']} ms ({pdf})")
        sql(DB_NAME, "VACUUM ANALYZE")

        port = free_port()
        extra = ["--max-requests", "0"] if args.no_max_requests else []
        if (
            "--no-control-socket"
            in subprocess.run([str(GUNICORN), "--help"], capture_output=True, text=True, timeout=60).stdout
        ):
            extra.append("--no-control-socket")
        logfile = work / "app.log"
        proc = start(
            [str(GUNICORN), "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", *extra, "elearn.wsgi:application"],
            env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
            logfile=logfile,
        )  # fmt: skip
        wait_ready(f"http://127.0.0.1:{port}/healthz", proc, logfile)
        log(f"gunicorn up on 127.0.0.1:{port}")

        valid = (work / "valid.txt").read_text().split()
        status, body = get_json(port, f"/api/v1/certificates/verify/{valid[0]}/")
        unknown_status, unknown = get_json(port, f"/api/v1/certificates/verify/{secrets.token_urlsafe(18)}/")
        if (status, body.get("status"), unknown_status, unknown.get("status")) != (
            200,
            "valid",
            200,
            "unknown",
        ):
            raise RuntimeError(f"verify sanity check failed: {status} {body} / {unknown_status} {unknown}")
        if body.keys() != unknown.keys():
            raise RuntimeError(f"valid and unknown answers differ in shape: {body.keys()} / {unknown.keys()}")

        mixed = write_paths(work, valid, valid_share=0.5, count=20000, name="mixed.txt")
        only_valid = write_paths(work, valid, valid_share=1.0, count=20000, name="valid-paths.txt")
        only_unknown = write_paths(work, valid, valid_share=0.0, count=20000, name="unknown-paths.txt")
        load = {"threads": args.threads, "connections": args.connections}
        wrk(port, mixed, duration=3, **load)  # warm-up, unrecorded
        verify = wrk(port, mixed, duration=args.duration, **load)
        log(f"verify (half valid, half unknown): {verify}")
        split = {
            "valid_only": wrk(port, only_valid, duration=args.split_duration, **load),
            "unknown_only": wrk(port, only_unknown, duration=args.split_duration, **load),
        }
        floor_paths = work / "healthz.txt"
        floor_paths.write_text("/healthz\n")
        split["healthz_floor"] = wrk(port, floor_paths, duration=args.split_duration, **load)
        for name, result in split.items():
            log(f"verify {name}: {result}")
        limiter_keys = rate_limit_keys(port)
        if limiter_keys == 0:
            raise RuntimeError("no rate-limit counters in the cache: was the limiter on?")

        passed = {
            "pdf_per_second": pdf["pdf_per_second"] >= TARGETS["pdf_per_second"],
            "verify_p99_ms": verify["p99_ms"] < TARGETS["verify_p99_ms"],
        }
        errors = verify["error_count"] + sum(r["error_count"] for r in split.values())
        report = {
            "command": " ".join([".venv/bin/python", "tests/bench/bench_certificates.py", *sys.argv[1:]]),
            "environment": {**info, "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
            "settings": {
                "pdf_worker": "one process, production settings (tests.bench.app_settings), one plain "
                "connection, FileSystemStorage in a temporary MEDIA_ROOT",
                "gunicorn": "gunicorn.conf.py: gthread, 2 workers x 4 threads"
                + (", max_requests off" if args.no_max_requests else ", max_requests as in production"),
                "pool_max": args.pool,
                "cache": f"Redis db {CACHE_DB} (rate limiter on, VERIFY_RATE_LIMIT_PER_MINUTE=10**9)",
                "wrk": {
                    **load,
                    "duration_s": args.duration,
                    "warmup_s": 3,
                    "split_duration_s": args.split_duration,
                },
                "mix": "half valid codes (of 2,000 certificates), half unknown codes of the same shape",
            },
            "pdf": pdf,
            "verify": verify,
            "verify_split": split,
            "rate_limit_counters_seen": limiter_keys,
            "targets": TARGETS,
            "passed": passed,
            "errors": errors,
        }
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=2) + "\n")
        print()
        print(f"PDF throughput   {pdf['pdf_per_second']:>8.2f} PDFs/s   (target >= {TARGETS['pdf_per_second']:g})"
              f"  {'PASS' if passed['pdf_per_second'] else 'MISS'}")  # fmt: skip
        print(f"verify p50/p99   {verify['p50_ms']:>5.2f} / {verify['p99_ms']:.2f} ms"
              f"  (target p99 < {TARGETS['verify_p99_ms']:g} ms)  {'PASS' if passed['verify_p99_ms'] else 'MISS'}"
              f"  {verify['rps']:.0f} req/s")  # fmt: skip
        for name, r in split.items():
            print(f"  {name:<13} p50/p99 {r['p50_ms']:.2f} / {r['p99_ms']:.2f} ms, {r['rps']:.0f} req/s")
        print(f"{errors} failed requests; results in {args.output}")
        return 0 if all(passed.values()) and errors == 0 else 1
    finally:
        stop_all()
        if not args.keep_db:
            try:
                sql("postgres", f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
            except Exception as exc:  # noqa: BLE001 - cleanup must not hide the real error
                log(f"could not drop {DB_NAME}: {exc}")
        if os.environ.get("BENCH_KEEP_WORKDIR"):
            log(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
