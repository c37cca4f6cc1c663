"""Profile the hot paths under the benchmark's load with py-spy (all threads, idle included), and
count CPU per request. Not part of the test suite; a companion of run_bench.py.

    .venv/bin/python tests/bench/profile_hot_paths.py [--duration 15] [--paths autosave,page,submit,verify]

Seeds its own database like run_bench.py (BENCH_DB_NAME, default elearn_bench_profile), starts the real
app under the production gunicorn.conf.py, and for each path runs the same load as the benchmark while
`py-spy record --subprocesses --idle --threads --format raw` samples every worker thread. Writes the
collapsed stacks (`<path>.txt`, for speedscope or flamegraph.pl) into --out and prints, per path, the
share of handler samples in each of a few named buckets (waiting on PostgreSQL, token auth, middleware,
rendering...) and the top frames by self time. py-spy is installed with pip when missing (into a
temporary folder: it is a tool, not a dependency of the project).
"""

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import run_bench as rb  # noqa: E402

BUCKETS = [
    # (name, substring of a frame; the first match from the leaf up decides)
    ("postgres wait", "psycopg/"),
    ("redis", "redis/"),
    ("token auth", "authenticate_credentials"),
    ("session/auth middleware", "contrib/sessions"),
    ("template render", "django/template/"),
    ("json", "json/"),
]


def pyspy() -> str:
    found = shutil.which("py-spy")
    if found:
        return found
    target = Path(tempfile.gettempdir()) / "pyspy-tool"
    if not (target / "bin" / "py-spy").exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target), "py-spy==0.4.3"],
            check=True,
            timeout=600,
        )
    return str(target / "bin" / "py-spy")


def summarise(raw: Path, top: int = 25) -> dict:
    """Collapsed stacks -> shares. Only stacks inside a request handler count (gthread's handle())."""
    total = 0
    buckets: collections.Counter = collections.Counter()
    leaves: collections.Counter = collections.Counter()
    inclusive: collections.Counter = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if "handle_request" not in stack and "handle (gunicorn" not in stack:
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        leaves[frames[-1]] += n
        for name in {f.rsplit(":", 1)[0] for f in frames}:
            inclusive[name] += n
        for frame in reversed(frames):
            hit = next((b for b, needle in BUCKETS if needle in frame), None)
            if hit:
                buckets[hit] += n
                break
        else:
            buckets["python (other)"] += n
    share = {k: round(v / total, 3) for k, v in buckets.most_common()} if total else {}
    return {
        "samples": total,
        "buckets": share,
        "top_self": [(f, round(n / total, 3)) for f, n in leaves.most_common(top)],
        "top_inclusive": [(f, round(n / total, 3)) for f, n in inclusive.most_common(top * 2)],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--paths", default="autosave,page,submit,page-submit")
    parser.add_argument("--submit-size", type=int, default=1500)
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument(
        "--mode",
        choices=["idle", "gil"],
        default="gil",
        help="gil: only the thread holding the GIL (where the CPU goes); idle: every thread, waiting included",
    )
    parser.add_argument("--out", type=Path, default=rb.BENCH / "results" / "profile")
    parser.add_argument("--reuse", type=Path, help="a work dir of an earlier run whose database is kept")
    args = parser.parse_args()
    os.environ.setdefault("BENCH_DB_NAME", "elearn_bench_profile")
    rb.DB_NAME = os.environ["BENCH_DB_NAME"]
    rb.DB_URL = f"{rb.PG_SERVER}/{rb.DB_NAME}"
    spy = pyspy()
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.reuse or Path(tempfile.mkdtemp(prefix="elearn-profile-"))
    env = {
        **os.environ,
        "PYTHONPATH": str(rb.ROOT),
        "DJANGO_SECRET_KEY": "profile-only-secret-key-" + "x" * 40,
        "AUDIT_HMAC_KEY": "test-only-audit-hmac-key-not-a-secret",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": rb.DB_URL,
        "CELERY_BROKER_URL": rb.REDIS_URL,
        "CACHE_URL": rb.REDIS_URL,
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_POOL_MAX": "4",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "4",
        "DJANGO_SETTINGS_MODULE": "tests.bench.app_settings",
    }
    try:
        if args.reuse is None:
            rb.sql(
                "postgres",
                f"DROP DATABASE IF EXISTS {rb.DB_NAME} WITH (FORCE)",
                f"CREATE DATABASE {rb.DB_NAME}",
            )
            setup = {**env, "DATABASE_POOL": "false"}
            rb.run([str(rb.PYTHON), "manage.py", "migrate", "--noinput"], env=setup, timeout=600)
            rb.run(
                [
                    str(rb.PYTHON), "-m", "tests.bench.seed", "--out", str(work), "--autosave-users", "200",
                    "--submit-batches", "1", "--submit-size", str(args.submit_size),
                    "--page-submit-size", str(args.submit_size // 2),
                ],
                env=setup, timeout=1800,
            )  # fmt: skip
            rb.sql(rb.DB_NAME, "VACUUM ANALYZE")
            rb.log(f"seeded into {work}")
        port = rb.free_port()
        logfile = work / "app.log"
        proc = rb.start(
            [str(rb.GUNICORN), "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "--no-control-socket",
             "elearn.wsgi:application"],
            env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}, logfile=logfile,
        )  # fmt: skip
        rb.wait_ready(f"http://127.0.0.1:{port}/healthz", proc, logfile)
        url = f"http://127.0.0.1:{port}"
        report = {}
        for path in args.paths.split(","):
            raw = args.out / f"{path}.txt"
            if path in ("autosave", "page"):
                tsv = work / ("autosave.tsv" if path == "autosave" else "page-autosave.tsv")
                script = "autosave.lua" if path == "autosave" else "page_autosave.lua"
                rb.wrk(url, tsv, duration=3, threads=2, connections=16, script=script)
            spy_proc = subprocess.Popen(
                [spy, "record", "--pid", str(proc.pid), "--subprocesses", f"--{args.mode}", "--threads",
                 "--nonblocking", "--rate", str(args.rate), "--format", "raw", "--output", str(raw),
                 "--duration", str(args.duration + 2)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(1.5)
            with rb.CpuMeter(proc.pid) as meter:
                if path in ("autosave", "page"):
                    result = rb.wrk(
                        url, tsv, duration=args.duration, threads=2, connections=16, script=script
                    )
                    n = result["requests"]
                else:
                    page = path == "page-submit"
                    tsv = work / ("page-submit-1.tsv" if page else "submit-1.tsv")
                    lines = [tuple(x.split("\t")) for x in tsv.read_text().splitlines()]
                    result = rb.submit_all(port, lines, connections=16, page=page)
                    n = result["submits"]
            spy_proc.wait(timeout=args.duration + 60)
            cpu = meter.result(n)
            summary = summarise(raw) if raw.exists() else {}
            report[path] = {"result": result, "cpu": cpu, "profile": summary}
            rb.log(
                f"{path}: {result.get('ok_rps', result.get('rps'))}/s, cpu ms/request app "
                f"{cpu['server_ms_per_request']} db {cpu['database_ms_per_request']}; buckets {summary.get('buckets')}"
            )
            for frame, share in summary.get("top_inclusive", [])[:40]:
                print(f"    {share:6.1%}  {frame}")
        (args.out / "profile.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
        return 0
    finally:
        rb.stop_all()


if __name__ == "__main__":
    sys.exit(main())
