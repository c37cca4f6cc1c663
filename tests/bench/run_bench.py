"""Quiz engine benchmarks against the baseline (DESIGN.md, "Performance"). Not part of the test suite.

    .venv/bin/python tests/bench/run_bench.py [--rounds 3] [--duration 20]

1. Creates the database `elearn_bench` on the local PostgreSQL (dropped and recreated each run, dropped
   again at the end unless --keep-db), migrates the real app into it and creates the baseline's table.
2. Seeds (tests/bench/seed.py): learners with API tokens, one 20-question quiz of all seven types,
   400 open attempts for autosave and, per round, 2,000 attempts with every answer saved.
3. Starts two gunicorn servers on 127.0.0.1 with the production gunicorn.conf.py (gthread, 2 workers x
   4 threads) and a pool of 4 connections per process: the baseline (baseline_app.py) and the real app
   (production settings, all middleware, token auth).
4. Each round: wrk (2 threads, 16 connections, --duration s, after a short unrecorded warm-up) PUTs
   the same shuffled answer bodies to the baseline and then to the real app's autosave endpoint; then
   16 client threads POST the submits of that round's 2,000 attempts, only the submits timed.
5. Prints every round and the medians, and writes tests/bench/results/latest.json.

Ratios are taken within a round (the machine's speed drifts between runs) and the medians reported.
Only 127.0.0.1 is contacted. Every process started here is stopped on exit, Ctrl-C included.
"""

import argparse
import contextlib
import http.client
import itertools
import json
import os
import platform
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
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "tests" / "bench"
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")
# Several checkouts may bench on one machine: each names its own database and Redis db.
DB_NAME = os.environ.get("BENCH_DB_NAME", "elearn_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
DB_URL = f"{PG_SERVER}/{DB_NAME}"
TARGETS = {
    "autosave_rps_ratio": 0.5,
    "autosave_p99_ratio": 2.0,
    "submit_rps_ratio": 0.15,
    # issue 25: the attempt page's autosave meets the API's targets, and costs at most 1.3x the API's
    # on the same attempt and question, one request at a time.
    "page_autosave_rps_ratio": 0.5,
    "page_autosave_p99_ratio": 2.0,
    "page_vs_api_sequential": 1.3,
    # issue 18: public certificate verification at 4 connections with the rate limiter counting every
    # request (a limit no run reaches); an absolute latency, as the design defines it.
    "verify_p99_ms": 10.0,
}
AT_MOST = {"autosave_p99_ratio", "page_autosave_p99_ratio", "page_vs_api_sequential", "verify_p99_ms"}

PROCESSES: list[subprocess.Popen] = []


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- processes -----------------------------------------------------------------------------------


def start(cmd: list[str], *, env: dict, logfile: Path) -> subprocess.Popen:
    out = logfile.open("ab")
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    PROCESSES.append(proc)
    return proc


def stop_all() -> None:
    """Stop the process groups started here (gunicorn masters and their workers), and only those."""
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


def run(cmd: list[str], *, env: dict | None = None, timeout: float, logfile: Path | None = None) -> str:
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if logfile is not None:
        with logfile.open("a") as fh:
            fh.write(f"$ {' '.join(map(str, cmd))}\n{result.stdout}{result.stderr}\n")
    if result.returncode != 0:
        raise RuntimeError(
            f"{cmd[:4]} failed ({result.returncode}):\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    return result.stdout


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


# --- database ------------------------------------------------------------------------------------


def sql(dbname: str, *statements: str) -> list:
    import psycopg

    rows = []
    with psycopg.connect(f"{PG_SERVER}/{dbname}", autocommit=True, connect_timeout=5) as conn:
        for statement in statements:
            cur = conn.execute(statement)
            rows.append(cur.fetchall() if cur.description else None)
    return rows


# --- CPU accounting ------------------------------------------------------------------------------
#
# The machine is shared (PostgreSQL, the load generator, and whatever else runs there), so every
# measurement records where the CPU went: the server under test, its PostgreSQL backends, the load
# generator, and "foreign" CPU (everything else). A run with much foreign CPU is flagged as noisy, and
# CPU milliseconds per request are reported next to the rates because they drift far less.

TICK = os.sysconf("SC_CLK_TCK")


def _machine_ticks() -> tuple[int, int]:
    with open("/proc/stat") as fh:
        fields = [int(v) for v in fh.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields[:8]), idle  # user..steal; guest time is already inside user


def _process_ticks(server_pgid: int) -> dict[str, dict[int, int]]:
    """CPU ticks of the server's processes (by process group) and of PostgreSQL backends on DB_NAME."""
    out: dict[str, dict[int, int]] = {"server": {}, "database": {}}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
            fields = stat[stat.rindex(")") + 2 :].split()
            ticks = int(fields[11]) + int(fields[12])
            if int(fields[2]) == server_pgid:
                out["server"][int(entry)] = ticks
            elif "postgres" in stat[: stat.rindex(")")]:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    if f" {DB_NAME} ".encode() in fh.read().replace(b"\0", b" "):
                        out["database"][int(entry)] = ticks
        except (OSError, ValueError, IndexError):
            continue
    return out


class CpuMeter:
    def __init__(self, server_pgid: int):
        self.pgid = server_pgid

    def __enter__(self):
        self.machine0 = _machine_ticks()
        self.procs0 = _process_ticks(self.pgid)
        self.self0 = resource.getrusage(resource.RUSAGE_SELF)
        self.children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        return self

    def __exit__(self, *exc):
        self.machine1 = _machine_ticks()
        self.procs1 = _process_ticks(self.pgid)
        self.self1 = resource.getrusage(resource.RUSAGE_SELF)
        self.children1 = resource.getrusage(resource.RUSAGE_CHILDREN)

    def result(self, requests: int) -> dict:
        def delta(kind):
            return sum(t - self.procs0[kind].get(pid, 0) for pid, t in self.procs1[kind].items()) / TICK

        def rusage(a, b):
            return (b.ru_utime - a.ru_utime) + (b.ru_stime - a.ru_stime)

        total = (self.machine1[0] - self.machine0[0]) / TICK
        busy = total - (self.machine1[1] - self.machine0[1]) / TICK
        server, database = delta("server"), delta("database")
        client = rusage(self.self0, self.self1) + rusage(
            self.children0, self.children1
        )  # wrk, submit threads
        foreign = max(0.0, busy - server - database - client)
        n = max(requests, 1)
        return {
            "server_ms_per_request": round(server * 1000 / n, 3),
            "database_ms_per_request": round(database * 1000 / n, 3),
            "cpu_seconds": {
                "server": round(server, 2),
                "database": round(database, 2),
                "load_generator": round(client, 2),
                "foreign": round(foreign, 2),
                "idle": round(total - busy, 2),
            },
            "foreign_share": round(foreign / total, 3) if total else 0.0,
        }


def wait_for_quiet(max_wait: float, threshold: float = 0.15) -> float:
    """Wait (at most max_wait seconds) until the machine is mostly idle; return the busy share seen."""
    deadline = time.monotonic() + max_wait
    warned = False
    while True:
        t0, i0 = _machine_ticks()
        time.sleep(2)
        t1, i1 = _machine_ticks()
        busy = 1 - (i1 - i0) / max(t1 - t0, 1)
        if busy <= threshold or time.monotonic() >= deadline:
            if busy > threshold:
                log(f"machine still {busy:.0%} busy with other work after {max_wait:.0f}s; measuring anyway")
            return round(busy, 3)
        if not warned:
            log(f"machine {busy:.0%} busy with other work; waiting up to {max_wait:.0f}s for it to settle")
            warned = True


# --- load generators -----------------------------------------------------------------------------


def wrk(
    url: str,
    requests_file: Path,
    *,
    duration: int,
    threads: int,
    connections: int,
    script: str = "autosave.lua",
) -> dict:
    cmd = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
        "-s", str(BENCH / script), url, "--", str(requests_file),
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    match = re.search(r"^BENCH_JSON (\{.*\})$", out.stdout, re.MULTILINE)
    if out.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    data = json.loads(match.group(1))
    seconds = data["duration_us"] / 1e6
    errors = sum(data["errors"].values())
    lat = data["latency_us"]
    return {
        "requests": data["requests"],
        "seconds": round(seconds, 2),
        "rps": round(data["requests"] / seconds, 1),
        "ok_rps": round((data["requests"] - data["errors"]["status"]) / seconds, 1),
        "p50_ms": lat["p50"] / 1000,
        "p90_ms": lat["p90"] / 1000,
        "p99_ms": lat["p99"] / 1000,
        "p999_ms": lat["p999"] / 1000,
        "max_ms": lat["max"] / 1000,
        "errors": data["errors"],
        "error_count": errors,
    }


def sequential(port: int, spec: dict, *, saves: int) -> dict:
    """Issue 25's comparison: one learner, one attempt, one single-choice question, `saves` saves through
    the page and `saves` through the API, alternating, one at a time on one keep-alive connection each."""
    api = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    page = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    api_headers = {"Authorization": f"Token {spec['token']}", "Content-Type": "application/json"}
    page_headers = {
        "Cookie": spec["cookie"],
        "X-CSRFToken": spec["csrf"],
        "HX-Request": "true",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    times: dict[str, list[float]] = {"api": [], "page": []}
    failures = 0
    for i in range(saves * 2 + 20):
        kind = "api" if i % 2 == 0 else "page"
        conn = api if kind == "api" else page
        began = time.perf_counter()
        if kind == "api":
            conn.request("PUT", spec["api_path"], body=spec["api_body"], headers=api_headers)
        else:
            conn.request("POST", spec["page_path"], body=spec["page_body"], headers=page_headers)
        response = conn.getresponse()
        response.read()
        elapsed = time.perf_counter() - began
        failures += response.status != 200
        if i >= 20:  # the first ten of each warm the connection and the caches
            times[kind].append(elapsed * 1000)
    api.close()
    page.close()

    def summary(values: list[float]) -> dict:
        values = sorted(values)
        return {
            "median_ms": round(statistics.median(values), 2),
            "p99_ms": round(values[min(len(values) - 1, int(0.99 * len(values)))], 2),
        }

    out = {"api": summary(times["api"]), "page": summary(times["page"]), "error_count": failures}
    out["page_vs_api"] = round(out["page"]["median_ms"] / out["api"]["median_ms"], 3)
    return out


def page_submit_all(port: int, lines: list[tuple[str, str, str]], *, connections: int) -> dict:
    """The page's submit button: a form POST with the session cookie and CSRF token, answered by a
    redirect to the result page. Same clients and timing as submit_all."""
    return submit_all(port, lines, connections=connections, page=True)


def submit_all(port: int, lines: list[tuple], *, connections: int, page: bool = False) -> dict:
    """POST every submit once over `connections` keep-alive connections; only this loop is timed."""
    counter = itertools.count()
    barrier = threading.Barrier(connections + 1)
    results: list[list[tuple[float, int, bool]]] = [[] for _ in range(connections)]

    def worker(slot: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        barrier.wait()
        while (i := next(counter)) < len(lines):
            if page:
                path, cookie, csrf = lines[i]
                headers = {"Cookie": cookie, "X-CSRFToken": csrf, "Content-Length": "0"}
            else:
                path, token = lines[i]
                headers = {"Authorization": f"Token {token}", "Content-Length": "0"}
            began = time.perf_counter()
            try:
                conn.request("POST", path, headers=headers)
                response = conn.getresponse()
                body = response.read()
                if page:  # graded now: redirected to the result page without the "already submitted" note
                    location = response.getheader("Location") or ""
                    status = (
                        200 if response.status == 302 and location.endswith("/result/") else response.status
                    )
                    graded = status == 200
                else:
                    status, graded = response.status, b'"graded_now":true' in body
                if response.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                status, graded = 0, False
            results[slot].append((time.perf_counter() - began, status, graded))
        conn.close()

    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(connections)]
    for t in workers:
        t.start()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    barrier.wait()
    began = time.perf_counter()
    for t in workers:
        t.join(timeout=1800)
    elapsed = time.perf_counter() - began
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    flat = [r for rs in results for r in rs]
    latencies = sorted(r[0] for r in flat)
    ok = sum(1 for _, status, graded in flat if status == 200 and graded)
    statuses: dict[str, int] = {}
    for _, status, _graded in flat:
        statuses[str(status)] = statuses.get(str(status), 0) + 1

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000, 2)

    return {
        "submits": len(flat),
        "graded": ok,
        "seconds": round(elapsed, 2),
        "rps": round(ok / elapsed, 1),
        "p50_ms": pct(50),
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        "max_ms": round(latencies[-1] * 1000, 2),
        "statuses": statuses,
        "error_count": len(flat) - ok,
        "client_cpu_seconds": round((cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime), 2),
    }


# --- report --------------------------------------------------------------------------------------


def ratios(r: dict) -> dict:
    base = r["baseline"]
    return {
        "autosave_rps_ratio": round(r["autosave"]["ok_rps"] / base["ok_rps"], 3),
        "autosave_p99_ratio": round(r["autosave"]["p99_ms"] / base["p99_ms"], 3),
        "submit_rps_ratio": round(r["submit"]["rps"] / base["ok_rps"], 3),
        "page_autosave_rps_ratio": round(r["page_autosave"]["ok_rps"] / base["ok_rps"], 3),
        "page_autosave_p99_ratio": round(r["page_autosave"]["p99_ms"] / base["p99_ms"], 3),
        "page_vs_api_sequential": r["sequential"]["page_vs_api"],
        "page_submit_rps_ratio": round(r["page_submit"]["rps"] / base["ok_rps"], 3),
        "verify_p99_ms": r["verify"]["p99_ms"],
    }


def page_table(rounds: list[dict], median: dict) -> str:
    head = (
        f"{'round':<7}{'page req/s':>11}{'p99 ms':>8}{'ratio':>7}{'p99 r':>7} |"
        f"{'seq API':>9}{'seq page':>9}{'p/a':>6}{'p99 A':>7}{'p99 P':>7} |{'page sub/s':>11}{'p99 ms':>8}{'ratio':>7}"
    )
    rule = "-" * len(head)
    lines = [
        "attempt page (issue 25): wrk autosave under load; sequential medians/p99 in ms",
        rule,
        head,
        rule,
    ]

    def row(label, r):
        p, q, s, x = r["page_autosave"], r["sequential"], r["page_submit"], r["ratios"]
        return (
            f"{label:<7}{p['ok_rps']:>11.0f}{p['p99_ms']:>8.1f}{x['page_autosave_rps_ratio']:>7.2f}"
            f"{x['page_autosave_p99_ratio']:>7.2f} |{q['api']['median_ms']:>9.2f}{q['page']['median_ms']:>9.2f}"
            f"{x['page_vs_api_sequential']:>6.2f}{q['api']['p99_ms']:>7.1f}{q['page']['p99_ms']:>7.1f} |"
            f"{s['rps']:>11.1f}{s['p99_ms']:>8.1f}{x['page_submit_rps_ratio']:>7.3f}"
        )

    for r in rounds:
        lines.append(row(str(r["round"]), r))
    lines.append(rule)
    lines.append(row("median", median))
    lines.append(rule)
    return "\n".join(lines)


def table(rounds: list[dict], median: dict) -> str:
    head = (
        f"{'round':<7}{'baseline':>10}{'p99 ms':>8} |{'autosave':>10}{'p99 ms':>8} |"
        f"{'rps ratio':>10}{'p99 ratio':>10} |{'submits/s':>10}{'p99 ms':>9}{'ratio':>8}"
    )
    rule = "-" * len(head)
    lines = [rule, f"{'':<7}{'req/s':>10}{'':>8} |{'req/s':>10}{'':>8} |{'':>20} |", head, rule]

    def row(label, r):
        b, a, s, x = r["baseline"], r["autosave"], r["submit"], r["ratios"]
        return (
            f"{label:<7}{b['ok_rps']:>10.0f}{b['p99_ms']:>8.1f} |{a['ok_rps']:>10.0f}{a['p99_ms']:>8.1f} |"
            f"{x['autosave_rps_ratio']:>10.2f}{x['autosave_p99_ratio']:>10.2f} |"
            f"{s['rps']:>10.1f}{s['p99_ms']:>9.1f}{x['submit_rps_ratio']:>8.3f}"
        )

    for r in rounds:
        lines.append(row(str(r["round"]), r))
    lines.append(rule)
    lines.append(row("median", median))
    t = TARGETS
    lines.append(
        f"{'target':<7}{'':>10}{'':>8} |{'':>10}{'':>8} |{'>= ' + str(t['autosave_rps_ratio']):>10}"
        f"{'<= ' + str(t['autosave_p99_ratio']):>10} |{'':>10}{'':>9}{'>= ' + str(t['submit_rps_ratio']):>8}"
    )
    lines.append(rule)
    return "\n".join(lines)


def issue_table(rounds: list[dict], median: dict, passed: dict) -> str:
    """The table of issues 18 and 25: medians of the rounds, each round's value in brackets, the target,
    and the CPU milliseconds per request of the server processes and of their PostgreSQL backends."""

    def each(key: str, fmt: str) -> str:
        return ", ".join(format(r["ratios"][key], fmt) for r in rounds)

    def cpu(section: str) -> str:
        server = statistics.median(r[section]["cpu"]["server_ms_per_request"] for r in rounds)
        database = statistics.median(r[section]["cpu"]["database_ms_per_request"] for r in rounds)
        return f"{server:.2f} / {database:.2f}"

    m, x = median, median["ratios"]

    def verdict(key: str) -> str:
        return "PASS" if passed.get(key) else "MISS"

    rows = [
        ("baseline (token + one upsert)", f"{m['baseline']['ok_rps']:.0f} req/s, p99 {m['baseline']['p99_ms']:.1f} ms", "", "", cpu("baseline")),
        ("API autosave PUT", f"{x['autosave_rps_ratio']:.2f}x ({each('autosave_rps_ratio', '.2f')}); {m['autosave']['ok_rps']:.0f} req/s", ">= 0.5x", verdict("autosave_rps_ratio"), cpu("autosave")),
        ("  p99 vs baseline p99", f"{x['autosave_p99_ratio']:.2f}x ({m['autosave']['p99_ms']:.1f} ms)", "<= 2x", verdict("autosave_p99_ratio"), ""),
        ("page autosave POST (htmx)", f"{x['page_autosave_rps_ratio']:.2f}x ({each('page_autosave_rps_ratio', '.2f')}); {m['page_autosave']['ok_rps']:.0f} req/s", ">= 0.5x", verdict("page_autosave_rps_ratio"), cpu("page_autosave")),
        ("  p99 vs baseline p99", f"{x['page_autosave_p99_ratio']:.2f}x ({m['page_autosave']['p99_ms']:.1f} ms)", "<= 2x", verdict("page_autosave_p99_ratio"), ""),
        ("page / API, sequential median", f"{x['page_vs_api_sequential']:.2f} ({m['sequential']['page']['median_ms']:.1f} / {m['sequential']['api']['median_ms']:.1f} ms)", "<= 1.3", verdict("page_vs_api_sequential"), ""),
        ("graded submit (API)", f"{x['submit_rps_ratio']:.3f}x ({each('submit_rps_ratio', '.3f')}); {m['submit']['rps']:.1f}/s, p50 {m['submit']['p50_ms']:.0f} ms, p99 {m['submit']['p99_ms']:.0f} ms", ">= 0.15x", verdict("submit_rps_ratio"), cpu("submit")),
        ("page submit (button)", f"{x['page_submit_rps_ratio']:.3f}x; {m['page_submit']['rps']:.1f}/s, p99 {m['page_submit']['p99_ms']:.0f} ms", "", "", cpu("page_submit")),
        ("certificate verify, 4 conns", f"p99 {m['verify']['p99_ms']:.2f} ms, p50 {m['verify']['p50_ms']:.2f} ms, {m['verify']['ok_rps']:.0f} req/s", "p99 < 10 ms", verdict("verify_p99_ms"), cpu("verify")),
    ]  # fmt: skip
    widths = [
        max(
            len(str(r[i]))
            for r in rows + [("path", "measured (median of rounds)", "target", "", "CPU ms/req app / PG")]
        )
        for i in range(5)
    ]
    head = ("path", "measured (median of rounds)", "target", "", "CPU ms/req app / PG")
    lines = ["issues 18 / 25 (item statistics page: tests/bench/bench_dashboard.py, quiz_statistics_p95_ms)"]
    for row in [head, tuple("-" * w for w in widths), *rows]:
        lines.append(" | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    return "\n".join(lines)


def cpu_table(rounds: list[dict]) -> str:
    lines = [
        "CPU ms per request (server processes / their PostgreSQL backends); foreign = other work on the machine",
        f"{'round':<7}{'baseline':>16}{'autosave':>16}{'page autosave':>16}{'submit':>16}{'page submit':>16}"
        f"{'verify':>16}   foreign CPU share (b / a / pa / s / ps / v)",
    ]
    for r in rounds:
        cells, shares = [], []
        for key in ("baseline", "autosave", "page_autosave", "submit", "page_submit", "verify"):
            cpu = r[key]["cpu"]
            cells.append(f"{cpu['server_ms_per_request']:.2f} / {cpu['database_ms_per_request']:.2f}")
            shares.append(f"{cpu['foreign_share']:.0%}")
        lines.append(f"{r['round']:<7}" + "".join(f"{c:>16}" for c in cells) + f"   {' / '.join(shares)}")
    return "\n".join(lines)


def noisy_runs(rounds: list[dict]) -> list[str]:
    return [
        f"round {r['round']} {key}"
        for r in rounds
        for key in ("baseline", "autosave", "page_autosave", "submit", "page_submit", "verify")
        if r[key]["cpu"]["foreign_share"] > 0.10
    ]


def median_of(rounds: list[dict]) -> dict:
    def med(section: str, key: str, sub: str | None = None) -> float:
        return round(statistics.median((r[section][sub] if sub else r[section])[key] for r in rounds), 3)

    return {
        "baseline": {k: med("baseline", k) for k in ("ok_rps", "p50_ms", "p99_ms")},
        "autosave": {k: med("autosave", k) for k in ("ok_rps", "p50_ms", "p99_ms")},
        "page_autosave": {k: med("page_autosave", k) for k in ("ok_rps", "p50_ms", "p99_ms")},
        "submit": {k: med("submit", k) for k in ("rps", "p50_ms", "p99_ms")},
        "page_submit": {k: med("page_submit", k) for k in ("rps", "p50_ms", "p99_ms")},
        "verify": {k: med("verify", k) for k in ("ok_rps", "p50_ms", "p99_ms")},
        "sequential": {
            "api": {k: med("sequential", k, "api") for k in ("median_ms", "p99_ms")},
            "page": {k: med("sequential", k, "page") for k in ("median_ms", "p99_ms")},
            "page_vs_api": med("sequential", "page_vs_api"),
        },
        "ratios": {k: med("ratios", k) for k in rounds[0]["ratios"]},
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
        "loadavg_before": os.getloadavg(),
        "python": platform.python_version(),
        "django": version([str(PYTHON), "-c", "import django; print(django.get_version())"]),
        "postgresql": sql("postgres", "SHOW server_version")[0][0][0],
        "wrk": version(["sh", "-c", "wrk -v 2>&1"]),
    }


# --- main ----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=20, help="seconds of each wrk run")
    parser.add_argument(
        "--warmup", type=int, default=3, help="seconds of unrecorded load before each wrk run"
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections and submit clients")
    parser.add_argument("--submit-size", type=int, default=2000, help="attempts submitted per round")
    parser.add_argument(
        "--page-submit-size", type=int, default=500, help="attempts submitted through the page per round"
    )
    parser.add_argument(
        "--sequential-saves", type=int, default=300, help="saves of each path in the page-vs-API comparison"
    )
    parser.add_argument("--autosave-users", type=int, default=400, help="open attempts the PUTs spread over")
    parser.add_argument(
        "--verify-connections", type=int, default=4, help="wrk connections of the verification run"
    )
    parser.add_argument("--pool", type=int, default=4, help="DATABASE_POOL_MAX of each server process")
    parser.add_argument(
        "--no-max-requests",
        action="store_true",
        help="turn gunicorn's max_requests off (by default gunicorn.conf.py's production value is kept: "
        "200,000 +10%% jitter, which no benchmark run reaches)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=120,
        help="seconds to wait for other load to settle before each run",
    )
    parser.add_argument("--keep-db", action="store_true", help="leave elearn_bench for inspection")
    parser.add_argument("--output", type=Path, default=BENCH / "results" / "latest.json")
    args = parser.parse_args()
    if not 1 <= args.rounds <= 9 or not 1 <= args.duration <= 300:
        parser.error("--rounds 1-9 and --duration 1-300 keep the run bounded")

    if shutil.which("wrk") is None:
        log("wrk is missing: installing the Debian package")
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, timeout=600)

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    work = Path(tempfile.mkdtemp(prefix="elearn-bench-"))
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
        "AUDIT_HMAC_KEY": "test-only-audit-hmac-key-not-a-secret",  # as elearn.settings.test
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": DB_URL,
        "BENCH_DATABASE_URL": DB_URL,
        "CELERY_BROKER_URL": os.environ.get("BENCH_CELERY_BROKER_URL", REDIS_URL),
        "CACHE_URL": REDIS_URL,
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_POOL_MAX": str(args.pool),
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "4",
        "VERIFY_RATE_LIMIT_PER_MINUTE": str(10**9),  # counted on every request, never reached
    }
    app_env = {**env, "DJANGO_SETTINGS_MODULE": "tests.bench.app_settings"}
    setup_env = {**app_env, "DATABASE_POOL": "false"}
    base_env = {**env, "DJANGO_SETTINGS_MODULE": "tests.bench.baseline_settings"}
    setup_log = work / "setup.log"
    try:
        info = environment_info()
        log(f"work dir {work}; {info['cpus']} CPUs, load {info['loadavg_before']}")
        sql("postgres", f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)", f"CREATE DATABASE {DB_NAME}")
        t0 = time.monotonic()
        run([str(PYTHON), "manage.py", "migrate", "--noinput"], env=setup_env, timeout=600, logfile=setup_log)
        run([str(PYTHON), "-m", "tests.bench.baseline_app", "create-table"], env=base_env, timeout=60)
        log(f"migrated {DB_NAME} in {time.monotonic() - t0:.0f}s; seeding")
        run(
            [
                str(PYTHON), "-m", "tests.bench.seed", "--out", str(work),
                "--autosave-users", str(args.autosave_users),
                "--submit-batches", str(args.rounds), "--submit-size", str(args.submit_size),
                "--page-submit-size", str(args.page_submit_size),
            ],
            env=setup_env, timeout=1800, logfile=setup_log,
        )  # fmt: skip
        seed = json.loads((work / "seed.json").read_text())
        sql(DB_NAME, "VACUUM ANALYZE")
        log(f"seeded in {seed['seconds']}s: {seed}")

        gunicorn_extra = ["--max-requests", "0"] if args.no_max_requests else []
        if (
            "--no-control-socket"
            in subprocess.run([str(GUNICORN), "--help"], capture_output=True, text=True, timeout=60).stdout
        ):
            gunicorn_extra.append(
                "--no-control-socket"
            )  # two masters must not share ~/.gunicorn/gunicorn.ctl
        servers, pgids = {}, {}
        for name, app, env_, probe in (
            ("baseline", "tests.bench.baseline_app:application", base_env, "/ping"),
            ("app", "elearn.wsgi:application", app_env, "/healthz"),
        ):
            port = free_port()
            logfile = work / f"{name}.log"
            proc = start(
                [
                    str(GUNICORN),
                    "-c",
                    "gunicorn.conf.py",
                    "--bind",
                    f"127.0.0.1:{port}",
                    *gunicorn_extra,
                    app,
                ],
                env={**env_, "GUNICORN_BIND": f"127.0.0.1:{port}"},
                logfile=logfile,
            )
            wait_ready(f"http://127.0.0.1:{port}{probe}", proc, logfile)
            servers[name] = port
            pgids[name] = proc.pid  # start_new_session: the master leads its workers' process group
        log(f"servers up: {servers}")

        requests_file = work / "autosave.tsv"
        first = requests_file.read_text().splitlines()[0].split("\t")
        for name, port in servers.items():  # one request each, so a broken setup fails loudly here
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request(
                "PUT", first[0], body=first[2],
                headers={"Authorization": f"Token {first[1]}", "Content-Type": "application/json"},
            )  # fmt: skip
            response = conn.getresponse()
            body = response.read()
            conn.close()
            if response.status != 200:
                raise RuntimeError(f"{name}: PUT {first[0]} -> {response.status} {body[:500]!r}")
        page_file = work / "page-autosave.tsv"
        path, cookie, csrf, form = page_file.read_text().splitlines()[0].split("\t")
        conn = http.client.HTTPConnection("127.0.0.1", servers["app"], timeout=30)
        conn.request(
            "POST", path, body=form,
            headers={"Cookie": cookie, "X-CSRFToken": csrf, "HX-Request": "true",
                     "Content-Type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
        response = conn.getresponse()
        body = response.read()
        conn.close()
        if response.status != 200 or b"Saved" not in body:
            raise RuntimeError(f"page autosave: POST {path} -> {response.status} {body[:500]!r}")
        seq_spec = json.loads((work / "sequential.json").read_text())

        rounds = []
        for n in range(1, args.rounds + 1):
            result = {"round": n}
            for name, key in (("baseline", "baseline"), ("app", "autosave")):
                url = f"http://127.0.0.1:{servers[name]}"
                load = {"threads": args.threads, "connections": args.connections}
                busy_before = wait_for_quiet(args.quiet_wait)
                if args.warmup:
                    wrk(url, requests_file, duration=args.warmup, **load)
                with CpuMeter(pgids[name]) as meter:
                    result[key] = wrk(url, requests_file, duration=args.duration, **load)
                result[key]["cpu"] = meter.result(result[key]["requests"]) | {"busy_before": busy_before}
                log(
                    f"round {n} {key}: {result[key]['ok_rps']} req/s, p99 {result[key]['p99_ms']} ms, "
                    f"errors {result[key]['errors']}, cpu {result[key]['cpu']}"
                )
            url = f"http://127.0.0.1:{servers['app']}"
            busy_before = wait_for_quiet(args.quiet_wait)
            if args.warmup:
                wrk(url, page_file, duration=args.warmup, script="page_autosave.lua", **load)
            with CpuMeter(pgids["app"]) as meter:
                result["page_autosave"] = wrk(
                    url, page_file, duration=args.duration, script="page_autosave.lua", **load
                )
            result["page_autosave"]["cpu"] = meter.result(result["page_autosave"]["requests"]) | {
                "busy_before": busy_before
            }
            log(f"round {n} page autosave: {result['page_autosave']['ok_rps']} req/s, "
                f"p99 {result['page_autosave']['p99_ms']} ms, errors {result['page_autosave']['errors']}")  # fmt: skip
            wait_for_quiet(args.quiet_wait)
            result["sequential"] = sequential(servers["app"], seq_spec, saves=args.sequential_saves)
            log(f"round {n} sequential page vs API: {result['sequential']}")
            lines = [tuple(line.split("\t")) for line in (work / f"submit-{n}.tsv").read_text().splitlines()]
            busy_before = wait_for_quiet(args.quiet_wait)
            with CpuMeter(pgids["app"]) as meter:
                result["submit"] = submit_all(servers["app"], lines, connections=args.connections)
            result["submit"]["cpu"] = meter.result(result["submit"]["submits"]) | {"busy_before": busy_before}
            log(f"round {n} submit: {result['submit']}")
            lines = [
                tuple(line.split("\t")) for line in (work / f"page-submit-{n}.tsv").read_text().splitlines()
            ]
            busy_before = wait_for_quiet(args.quiet_wait)
            with CpuMeter(pgids["app"]) as meter:
                result["page_submit"] = page_submit_all(servers["app"], lines, connections=args.connections)
            result["page_submit"]["cpu"] = meter.result(result["page_submit"]["submits"]) | {
                "busy_before": busy_before
            }
            log(f"round {n} page submit: {result['page_submit']}")
            verify_load = {"threads": 2, "connections": args.verify_connections}
            busy_before = wait_for_quiet(args.quiet_wait)
            if args.warmup:
                wrk(url, work / "verify.txt", duration=args.warmup, script="verify.lua", **verify_load)
            with CpuMeter(pgids["app"]) as meter:
                result["verify"] = wrk(
                    url, work / "verify.txt", duration=args.duration, script="verify.lua", **verify_load
                )
            result["verify"]["cpu"] = meter.result(result["verify"]["requests"]) | {
                "busy_before": busy_before
            }
            log(f"round {n} verify: {result['verify']['ok_rps']} req/s, p99 {result['verify']['p99_ms']} ms")
            result["ratios"] = ratios(result)
            rounds.append(result)

        median = median_of(rounds)
        passed = {
            k: median["ratios"][k] <= t if k in AT_MOST else median["ratios"][k] >= t
            for k, t in TARGETS.items()
        }
        errors = sum(
            r[k]["error_count"]
            for r in rounds
            for k in (
                "baseline",
                "autosave",
                "page_autosave",
                "sequential",
                "submit",
                "page_submit",
                "verify",
            )
        )
        report = {
            "command": " ".join([".venv/bin/python", "tests/bench/run_bench.py", *sys.argv[1:]]),
            "environment": info,
            "settings": {
                "gunicorn": "gunicorn.conf.py: gthread, 2 workers x 4 threads"
                + (", max_requests off" if args.no_max_requests else ", max_requests as in production"),
                "pool_max": args.pool,
                "wrk": {
                    "threads": args.threads,
                    "connections": args.connections,
                    "duration_s": args.duration,
                    "warmup_s": args.warmup,
                },
                "submit_clients": args.connections,
                "autosave_attempts": args.autosave_users,
                "submit_attempts_per_round": args.submit_size,
            },
            "seed": seed,
            "rounds": rounds,
            "median": median,
            "targets": TARGETS,
            "passed": passed,
            "errors": errors,
            "noisy_runs": noisy_runs(rounds),
        }
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=2) + "\n")
        print()
        print(table(rounds, median))
        print(page_table(rounds, median))
        print(cpu_table(rounds))
        print()
        print(issue_table(rounds, median, passed))
        if report["noisy_runs"]:
            print(f"NOISY (over 10% of the CPU went to other work): {', '.join(report['noisy_runs'])}")
        print(
            ", ".join(f"{k} {median['ratios'][k]} {'PASS' if ok else 'MISS'}" for k, ok in passed.items())
            + f"; {errors} failed requests; results in {args.output}"
        )
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
