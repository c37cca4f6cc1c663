"""A real learning record store for the xAPI tests: Ralph's LRS server (file-system backend) in its own
virtual environment (.venv-ralph, from tests/xapi/ralph-requirements.txt via scripts/ralph-venv), run
as a separate process on loopback, stopped and started by the tests."""

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
RALPH_PYTHON = ROOT / ".venv-ralph" / "bin" / "python"
USERNAME = "elearn-xapi-test"
PASSWORD = "not-a-secret-test-password"  # noqa: S105
XAPI_HEADERS = {"X-Experience-API-Version": "1.0.3"}


def ensure_venv() -> None:
    """Create or refresh .venv-ralph (instant when the pinned requirements did not change)."""
    subprocess.run([str(ROOT / "scripts" / "ralph-venv")], check=True, timeout=900)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def pick_port() -> int:
    """A free port in RALPH_TEST_PORTS (default 8170-8179, this suite's range on shared machines)."""
    first, last = (int(p) for p in os.environ.get("RALPH_TEST_PORTS", "8170-8179").split("-"))
    for port in range(first, last + 1):
        if _port_free(port):
            return port
    raise RuntimeError(f"no free port in {first}-{last} for the Ralph LRS")


class RalphLRS:
    def __init__(self, root: Path):
        self.root = root
        self.data_dir = root / "data"
        self.auth_file = root / "auth.json"
        self.port = pick_port()
        self.process: subprocess.Popen | None = None
        self._write_auth_file()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        """What a program sets as XAPI_LRS_ENDPOINT."""
        return f"{self.base_url}/xAPI/"

    def _write_auth_file(self) -> None:
        # bcrypt with a low cost: the LRS checks the password on every request.
        digest = subprocess.run(
            [
                str(RALPH_PYTHON),
                "-c",
                "import bcrypt,sys; print(bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt(4)).decode())",
                PASSWORD,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        agent = {"objectType": "Agent", "account": {"homePage": "http://127.0.0.1", "name": USERNAME}}
        self.auth_file.write_text(
            json.dumps([{"agent": agent, "scopes": ["all"], "hash": digest, "username": USERNAME}])
        )

    def start(self, timeout: float = 60) -> None:
        assert self.process is None
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.root),
            "RALPH_APP_DIR": str(self.root / "app"),
            "RALPH_AUTH_FILE": str(self.auth_file),
            "RALPH_RUNSERVER_BACKEND": "fs",
            "RALPH_RUNSERVER_MAX_SEARCH_HITS_COUNT": "5000",
            "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(self.data_dir),
        }
        log = (self.root / "ralph.log").open("ab")
        self.process = subprocess.Popen(
            [
                str(RALPH_PYTHON),
                str(Path(__file__).with_name("ralph_server.py")),
                "127.0.0.1",
                str(self.port),
            ],
            env=env,
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"Ralph exited ({self.process.returncode}): {(self.root / 'ralph.log').read_text()[-2000:]}"
                )
            try:
                if requests.get(f"{self.base_url}/__heartbeat__", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Ralph did not answer within {timeout} s")

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def statements(self, **params) -> list[dict]:
        """Every statement the LRS returns (its API, following `more`)."""
        found: list[dict] = []
        url = f"{self.base_url}/xAPI/statements"
        params = {"limit": 5000, **params}
        while url:
            response = requests.get(
                url, params=params, headers=XAPI_HEADERS, auth=(USERNAME, PASSWORD), timeout=10
            )
            response.raise_for_status()
            body = response.json()
            found.extend(body["statements"])
            more = body.get("more")
            url, params = (f"{self.base_url}{more}" if more else None), None
        return found

    def stored_ids(self) -> list[str]:
        """The id of every statement in the LRS's own storage, duplicates included (its JSON lines file)."""
        ids = []
        for path in sorted(self.data_dir.glob("*")):
            for line in path.read_text().splitlines():
                if line.strip():
                    ids.append(json.loads(line)["id"])
        return ids
