"""What the reliability and security tests start, stop and talk to: throwaway PostgreSQL and Redis
servers (tests/reliability/servers.py, through the fixtures of tests/reliability/fixtures.py), a
gunicorn on production settings, a real Celery worker, and a small HTTP client.

Every process started here runs in its own session (process group) and is stopped by its id; every
outage restarts the server in a `finally`. The outages are of the tests' own servers on free ports,
never of the machine's PostgreSQL (5432) or Redis (6379).

Where a test cannot start a server it skips with the reason printed, except under CI=true, where it
fails: CI on the project's machines must run every fault test.
"""

import contextlib
import http.client
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings

from tests.reliability.servers import ThrowawayPostgres, ThrowawayRedis, free_port, wait_for

__all__ = ["free_port", "wait_for"]  # re-exported: the tests import them from here

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CI = os.environ.get("CI", "").lower() == "true"

# Redis databases of these tests on their throwaway Redis server: broker, cache.
BROKER_DB = 0
CACHE_DB = 1


def unavailable(reason: str):
    """Skip with the reason, or fail under CI=true (CI must run every fault test)."""
    if CI:
        pytest.fail(f"CI must run this test, but: {reason}", pytrace=False)
    pytest.skip(reason)


def _run(cmd: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


# --- outages of the throwaway servers ------------------------------------------------------------


@contextlib.contextmanager
def postgres_stopped(server: ThrowawayPostgres):
    """Stop the tests' PostgreSQL (fast mode: sessions are ended, open transactions roll back); always
    start it again. Yields once it is down."""
    from django.db import connections

    for conn in connections.all():  # this process's connections die with the server; drop them first
        conn.close()
    try:
        with server.stopped():
            yield
    finally:
        for conn in connections.all():
            conn.close()


def redis_stopped(server: ThrowawayRedis):
    """Shut the tests' Redis down (it keeps no data anyway); always start it again on the same port."""
    return server.stopped()


# --- processes -----------------------------------------------------------------------------------


def stop_process_group(proc: subprocess.Popen, *, grace: float = 20) -> None:
    """Stop a process started with start_new_session=True, and its children, by its group id."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):  # a child that outlived its master
        os.killpg(proc.pid, signal.SIGKILL)


def database_url_for_tests() -> str:
    from django.db import connection

    db = connection.settings_dict
    return (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


@dataclass
class Server:
    port: int
    proc: subprocess.Popen
    log: Path
    access_log: Path
    env: dict = field(repr=False)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, **kwargs) -> "Http":
        return Http(self.port, **kwargs)

    def worker_pids(self) -> set[int]:
        """The pids of the master's worker processes, from /proc."""
        pids = set()
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError, ValueError, IndexError):
                    stat = Path(f"/proc/{entry}/stat").read_text()
                    if int(stat[stat.rindex(")") + 2 :].split()[1]) == self.proc.pid:
                        pids.add(int(entry))
        return pids

    def served_by(self, method: str, path_prefix: str = "/") -> set[int]:
        """The worker pids that served requests of this method and path prefix (from the access log)."""
        return {
            pid for pid, m, path, _ in self.access_lines() if m == method and path.startswith(path_prefix)
        }

    def access_lines(self) -> list[tuple[int, str, str, int]]:
        """(worker pid, method, path, status) of every request served so far."""
        out = []
        for line in self.access_log.read_text().splitlines():
            m = re.match(r"pid=<?(\d+)>? \"(\w+) (\S+) [^\"]*\" (\d{3})", line)
            if m:
                out.append((int(m[1]), m[2], m[3], int(m[4])))
        return out

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def collect_static(static_root: Path) -> None:
    """collectstatic for production settings (whitenoise's manifest) into a folder of the test's own."""
    env = production_env(static_root=static_root, database_url="postgres://postgres@no-postgres.invalid/none")
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def production_env(
    *,
    static_root: Path,
    database_url: str,
    redis: ThrowawayRedis | None = None,
    media_root: Path | None = None,
    **extra,
) -> dict:
    """The environment of a production deployment on this machine (elearn.settings.production through
    tests/reliability/server_settings.py, which only moves STATIC_ROOT into the test's folder), with
    the broker and the cache on the tests' Redis. Without `redis` (collectstatic) nothing may connect:
    the broker address does not resolve."""
    broker = redis.url(BROKER_DB) if redis else "redis://no-redis.invalid:6379/0"
    cache = redis.url(CACHE_DB) if redis else "redis://no-redis.invalid:6379/1"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_", "CACHE_"))
    }
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "tests.reliability.server_settings",
            "RELIABILITY_STATIC_ROOT": str(static_root),
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
            "AUDIT_HMAC_KEY": django_settings.AUDIT_HMAC_KEY,  # the test process verifies what servers chain
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker,
            "CACHE_URL": cache,
            "DJANGO_SECURE_SSL_REDIRECT": "false",  # no TLS terminator in front of the test server
            "DATABASE_POOL_MAX": "4",
            "DATABASE_POOL_TIMEOUT": "3",
            "GUNICORN_WORKERS": "2",
            "GUNICORN_THREADS": "4",
            "LOG_LEVEL": "INFO",
        }
    )
    if media_root is not None:
        env["MEDIA_ROOT"] = str(media_root)
    env.update({k: str(v) for k, v in extra.items()})
    return env


@contextlib.contextmanager
def gunicorn(env: dict, workdir: Path, *, workers: int = 2, threads: int = 4):
    """gunicorn with the production gunicorn.conf.py (gthread), bound to a free port on 127.0.0.1.
    The access log records the worker pid of every request, so tests can see which worker served it."""
    port = free_port()
    log = workdir / f"gunicorn-{port}.log"
    access = workdir / f"gunicorn-{port}-access.log"
    cmd = [
        str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--threads", str(threads),
        "--access-logfile", str(access), "--access-logformat", 'pid=%(p)s "%(r)s" %(s)s',
        "--error-logfile", str(log),
    ]  # fmt: skip
    if "--no-control-socket" in _run([str(BIN / "gunicorn"), "--help"]).stdout:
        cmd.append("--no-control-socket")  # two masters must not share ~/.gunicorn/gunicorn.ctl
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(port=port, proc=proc, log=log, access_log=access, env=env)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"gunicorn exited ({proc.returncode}):\n{server.log_text()[-4000:]}")
            with contextlib.suppress(OSError):
                if server.client(timeout=2).get("/healthz").status == 200:
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"gunicorn not ready in 90 s:\n{server.log_text()[-4000:]}")
            time.sleep(0.3)
        yield server
    finally:
        stop_process_group(proc)


@contextlib.contextmanager
def celery_worker(env: dict, workdir: Path, *, queue: str, name: str, render_delay: float = 0, marker=None):
    """A real Celery worker (prefork, one child) started through tests/reliability/slow_worker.py, which
    can slow certificate rendering down for the kill test. Yields the Popen (its pid leads the group)."""
    log = workdir / f"worker-{name}.log"
    env = {
        **env,
        "RELIABILITY_RENDER_DELAY": str(render_delay),
        "RELIABILITY_RENDER_MARKER": str(marker or ""),
        "RELIABILITY_WORKER_QUEUE": queue,
        "RELIABILITY_WORKER_NAME": f"{name}@reliability",
    }
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.slow_worker"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    proc.log_path = log
    try:
        yield proc
    finally:
        stop_process_group(proc)


def worker_env(tmp_path: Path, redis: ThrowawayRedis, *, visibility_timeout: int = 5) -> dict:
    """Test settings on the test database, the tests' broker, a short visibility timeout and file email."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "elearn.settings.test",
            "DATABASE_URL": database_url_for_tests(),
            "CELERY_BROKER_URL": redis.url(BROKER_DB),
            "CELERY_VISIBILITY_TIMEOUT": str(visibility_timeout),
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(tmp_path / "mail"),
        }
    )
    return env


def send(task: str, *args, queue: str, redis: ThrowawayRedis) -> None:
    """Publish a task to the tests' broker, on a queue only the test's own worker consumes."""
    from kombu import Connection

    from elearn.celery import app

    with Connection(redis.url(BROKER_DB)) as conn:
        app.send_task(task, args=list(args), connection=conn, queue=queue)


def log_of(proc) -> str:
    """The end of a worker's log."""
    return proc.log_path.read_text(errors="replace")[-6000:]


# --- HTTP ----------------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes
    set_cookies: list[str] = field(default_factory=list)

    def json(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class Http:
    """A keep-alive HTTP/1.1 client for one server with a cookie jar (Secure cookies included: the test
    server speaks plain HTTP on the loopback). Connection errors propagate; the next call reconnects."""

    def __init__(self, port: int, *, timeout: float = 30, headers: dict | None = None):
        self.port = port
        self.timeout = timeout
        self.headers = dict(headers or {})
        self.cookies: dict[str, str] = {}
        self.conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method: str, path: str, *, body=None, json_body=None, form=None, headers=None) -> Reply:
        hdrs = {**self.headers, **(headers or {})}
        if json_body is not None:
            body = json.dumps(json_body)
            hdrs.setdefault("Content-Type", "application/json")
        elif form is not None:
            body = urlencode(form, doseq=True)
            hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            self.conn.request(method, path, body=body, headers=hdrs)
            response = self.conn.getresponse()
            data = response.read()
        except Exception:
            self.close()
            raise
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value in ('""', "") or "max-age=0" in header.lower():
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        return Reply(
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            data,
            response.headers.get_all("Set-Cookie") or [],
        )

    def get(self, path: str, **kwargs) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> Reply:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs) -> Reply:
        return self.request("PUT", path, **kwargs)

    def csrf_post(self, path: str, form: dict, *, page: str | None = None) -> Reply:
        """POST a form the way a browser does: fetch the page for the CSRF token first."""
        token = csrf_token(self.get(page or path).text)
        return self.post(
            path, form={**form, "csrfmiddlewaretoken": token}, headers={"Referer": self.base_referer}
        )

    @property
    def base_referer(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def login(self, username: str, password: str, *, next_url: str = "/") -> Reply:
        return self.csrf_post(
            "/accounts/login/", {"username": username, "password": password, "next": next_url}
        )


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def fast_password(password: str) -> str:
    """A PBKDF2 hash the production settings accept (the test settings hash with MD5), with few
    iterations so that failed logins stay cheap on this small machine."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher
    from django.utils.crypto import get_random_string

    return PBKDF2PasswordHasher().encode(password, get_random_string(16), iterations=1000)


def user_for_server(password: str, **fields):
    """A user who can log in to a server on production settings with `password`."""
    from tests.factories import UserFactory

    user = UserFactory(**fields)
    user.password = fast_password(password)
    user.save(update_fields=["password"])
    return user
