"""Issue 17 point 11: the test command never stops or restarts the machine's PostgreSQL or Redis (a
shared development machine keeps running); the fault drills use throwaway servers on free ports, and
the README says so next to the command. A guard over the repository's own scripts and tests."""

import re
import tempfile
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
# Commands that would stop, restart or reconfigure the machine's own services.
MACHINE_SERVICE_COMMANDS = re.compile(
    r"pg_ctlcluster[^\n]*\b(stop|restart|reload)\b"
    r"|systemctl\s+(stop|restart|kill)"
    r"|\bservice\s+(postgresql|redis)[^\n]*\b(stop|restart)\b"
    r"|redis-cli[^\n]*\bshutdown\b"
    r"|pg_ctl[^\n]*/var/lib/postgresql",
    re.IGNORECASE,
)
THIS_FILE = Path(__file__).resolve()


def repository_files():
    for folder in ("scripts", "tests", ".ci"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in ("", ".py", ".sh", ".lua") and path.resolve() != THIS_FILE:
                yield path


def test_no_script_or_test_stops_the_machines_services():
    offenders = []
    for path in repository_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            code = line.split("#", 1)[0]  # a comment may name the command it warns against
            if MACHINE_SERVICE_COMMANDS.search(code) and "print(" not in code and "echo" not in code:
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_guard_catches_what_it_is_for():
    for line in (
        "pg_ctlcluster 15 main restart",
        "systemctl stop postgresql",
        "service redis-server stop",
        "redis-cli -p 6379 shutdown",
    ):
        assert MACHINE_SERVICE_COMMANDS.search(line), line


@pytest.mark.parametrize("kind", ["postgres", "redis"])
def test_throwaway_servers_take_free_ports_and_temporary_folders(kind):
    from tests.reliability.servers import ServerUnavailable, ThrowawayPostgres, ThrowawayRedis

    try:
        server = (ThrowawayPostgres if kind == "postgres" else ThrowawayRedis)()
    except ServerUnavailable as error:  # the drills skip (or fail under CI) for the same reason
        pytest.skip(str(error))
    try:
        assert server.port not in (5432, 6379)
        assert f"127.0.0.1:{server.port}/" in server.url()
        assert Path(server.root).is_relative_to(tempfile.gettempdir())
    finally:
        server.destroy()


def test_the_readme_says_it_next_to_the_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = readme.index("scripts/test    #")
    said = " ".join(readme[command:].split())
    assert "It never stops or restarts the machine's PostgreSQL or Redis" in said[:2000]
