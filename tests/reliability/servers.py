"""Throwaway PostgreSQL and Redis servers for the fault tests: started by the tests on free ports, with
their data in a temporary folder, stopped and deleted at teardown. The drills stop and start THESE
servers, never the machine's own (127.0.0.1:5432 and :6379 stay untouched, so a test run does not
interrupt anyone else on a shared machine).

PostgreSQL: `initdb` into a temporary folder and `pg_ctl` (the binaries of /usr/lib/postgresql/15/bin,
or PG_BINDIR), run as the `postgres` user through `runuser` when the tests run as root (initdb refuses
root). Redis: `redis-server --port N --save '' --appendonly no` in the foreground of its own session.

Every process is started in its own session and stopped by its pid; nothing is looked up by name.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_BINDIR = Path(os.environ.get("PG_BINDIR", "/usr/lib/postgresql/15/bin"))
PG_SUPERUSER = "postgres"


class ServerUnavailable(RuntimeError):
    """The machine cannot run a throwaway server (binary missing, no unprivileged user)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, *, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"{what} within {timeout} s")


def _as_owner(cmd: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *cmd] if owner else cmd


class ThrowawayPostgres:
    """A PostgreSQL cluster of its own: trust authentication on 127.0.0.1:port, no Unix socket, settings
    for a small test machine (fsync off: the drills restart it cleanly, they never crash the OS)."""

    def __init__(self, root: Path | None = None):
        if not (PG_BINDIR / "initdb").exists():
            raise ServerUnavailable(f"no initdb in {PG_BINDIR} (set PG_BINDIR)")
        self.owner = None
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            if shutil.which("runuser") is None:
                raise ServerUnavailable("running as root without runuser: cannot start PostgreSQL")
            try:
                import pwd

                pwd.getpwnam("postgres")
            except KeyError as exc:
                raise ServerUnavailable("running as root and there is no `postgres` user") from exc
            self.owner = "postgres"
        self.root = Path(root or tempfile.mkdtemp(prefix="throwaway-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        if self.owner:
            shutil.chown(self.root, user=self.owner)
            self.root.chmod(0o700)
        self._run(
            [str(PG_BINDIR / "initdb"), "-D", str(self.data), "-U", PG_SUPERUSER, "-A", "trust",
             "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
            timeout=120,
        )  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# throwaway cluster of the test suite\n"
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
                "fsync = off\nfull_page_writes = off\nshared_buffers = 32MB\nmax_connections = 120\n"
                "log_min_messages = warning\n"
            )

    def _run(self, cmd: list[str], *, timeout: float) -> subprocess.CompletedProcess:
        result = subprocess.run(_as_owner(cmd, self.owner), capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
        return result

    def url(self, dbname: str = "postgres") -> str:
        return f"postgres://{PG_SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def accepts(self, dbname: str = "postgres") -> bool:
        import psycopg

        try:
            psycopg.connect(
                host="127.0.0.1", port=self.port, user=PG_SUPERUSER, dbname=dbname, connect_timeout=2
            ).close()
        except psycopg.OperationalError:
            return False
        return True

    def start(self) -> None:
        # -w: pg_ctl returns once the server accepts connections.
        self._run([str(PG_BINDIR / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "120",
                   "start"], timeout=150)  # fmt: skip
        wait_for(self.accepts, timeout=60, what=f"throwaway PostgreSQL on port {self.port} accepting")

    def stop(self) -> None:
        """Fast shutdown (sessions are ended, open transactions roll back); returns once it is down."""
        self._run([str(PG_BINDIR / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "120",
                   "stop"], timeout=150)  # fmt: skip

    def running(self) -> bool:
        status = subprocess.run(
            _as_owner([str(PG_BINDIR / "pg_ctl"), "-D", str(self.data), "status"], self.owner),
            capture_output=True,
            text=True,
            timeout=30,
        )
        return status.returncode == 0

    @contextlib.contextmanager
    def stopped(self):
        """Down while the block runs; always started again, even when the block fails."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def sql(self, statement: str, dbname: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(dbname), autocommit=True) as conn:
            conn.execute(statement)

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            if self.running():
                self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class ThrowawayRedis:
    """redis-server on 127.0.0.1:port with no persistence, in its own session, stopped by its pid."""

    def __init__(self, root: Path | None = None):
        if shutil.which("redis-server") is None:
            raise ServerUnavailable("redis-server is not installed")
        self.root = Path(root or tempfile.mkdtemp(prefix="throwaway-redis-"))
        self.port = free_port()
        self.log = self.root / "redis.log"
        self.proc: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0):
        import redis

        return redis.Redis(
            host="127.0.0.1", port=self.port, db=db, socket_connect_timeout=2, socket_timeout=5
        )

    def up(self) -> bool:
        import redis

        try:
            return bool(self.client().ping())
        except redis.exceptions.RedisError:
            return False

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.root), "--daemonize", "no"],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        wait_for(
            lambda: self.up() or self.proc.poll() is not None,
            timeout=30,
            what=f"throwaway Redis on port {self.port} answering",
        )
        if self.proc.poll() is not None:
            raise AssertionError(f"redis-server exited:\n{self.log.read_text(errors='replace')[-3000:]}")

    def stop(self) -> None:
        """SIGTERM (no persistence configured, so nothing is saved); returns once the process is gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        wait_for(lambda: not self.up(), timeout=10, what="throwaway Redis stopped")

    @contextlib.contextmanager
    def stopped(self):
        """Down while the block runs; always started again (same port, empty), even when the block fails."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
