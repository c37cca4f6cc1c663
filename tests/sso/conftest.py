"""The real OpenID Connect provider for the SSO tests: tests/sso/provider (django-oidc-provider, pinned in
requirements.lock) in its own process, with its own SQLite database in a temporary folder, on a free
loopback port (8150-8159 first, SSO_PROVIDER_PORTS overrides). Started once per test session, after the
engine's live server (its client's redirect URI names that server), and stopped at the end."""

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "training-engine"
CLIENT_SECRET = "provider-test-secret"  # noqa: S105 - the throwaway test provider's client
PASSWORD = "provider-pass-1"  # noqa: S105
SHOTS = Path(os.environ.get("SSO_SHOTS_DIR", ROOT / "test-artifacts" / "screenshots"))

# The provider's accounts and their claims; tests change them through `provider.set_claims`.
PEOPLE = {
    "kim": {
        "employee_id": "E100",
        "given_name": "Kim",
        "family_name": "Nakamura",
        "email": "kim.nakamura@example.org",
        "department": "Nursing",
        "job_title": "Nurse",
        "supervisor_employee_id": "E001",
        "groups": ["All-Staff"],
    },
    "ola": {
        "employee_id": "E200",
        "given_name": "Ola",
        "family_name": "Admin",
        "email": "ola.admin@example.org",
        "department": "nursing",
        "job_title": "Training coordinator",
        "groups": ["All-Staff", "Training-Admins"],
    },
    "nobody": {"given_name": "No", "family_name": "Employee-id", "email": "nobody@example.org"},
}


def free_port() -> int:
    low, high = (int(p) for p in os.environ.get("SSO_PROVIDER_PORTS", "8150-8159").split("-"))
    for port in range(low, high + 1):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.fail(f"no free port for the test identity provider in {low}-{high}")


@dataclass
class Provider:
    url: str
    state_dir: Path

    @property
    def issuer(self) -> str:
        return f"{self.url}/openid"

    def reset(self) -> None:
        self.write_people(PEOPLE)
        self.set_faults({})

    def write_people(self, people: dict) -> None:
        data = {name: {"password": PASSWORD, "claims": claims} for name, claims in people.items()}
        (self.state_dir / "people.json").write_text(json.dumps(data))

    def set_claims(self, username: str, **changes) -> None:
        people = {name: dict(claims) for name, claims in PEOPLE.items()}
        current = json.loads((self.state_dir / "people.json").read_text())
        people.update({name: entry["claims"] for name, entry in current.items()})
        people[username] = {**people[username], **changes}
        self.write_people(people)

    def set_faults(self, faults: dict) -> None:
        (self.state_dir / "faults.json").write_text(json.dumps(faults))


def _run(args, env):
    subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "django", *args],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture(scope="session")
def oidc_provider(live_server, tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("oidc-provider")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.sso.provider.settings",
        "OP_STATE_DIR": str(state_dir),
        "OP_SITE_URL": url,
        "PYTHONPATH": str(ROOT),
        "OP_PARENT_PID": str(os.getpid()),
    }
    provider = Provider(url=url, state_dir=state_dir)
    provider.reset()
    _run(["migrate", "-v", "0"], env)
    _run(
        [
            "provider_setup",
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            CLIENT_SECRET,
            "--redirect-uri",
            f"{live_server.url}/accounts/sso/callback/",
        ],
        env,
    )
    log = (state_dir / "server.log").open("w")
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"the test identity provider did not start: {(state_dir / 'server.log').read_text()}"
                )
            time.sleep(0.2)
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def provider(oidc_provider, settings):
    """The provider, with its people and faults reset, and the engine configured to use it."""
    from sso import provider as engine_provider

    oidc_provider.reset()
    settings.OIDC_ISSUER = oidc_provider.issuer
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_RP_SCOPES = "openid email profile staff"
    settings.OIDC_PROVIDER_NAME = "Lakeside Health"
    settings.OIDC_ROLE_GROUPS = "Training-Admins=admin,Shift-Supervisors=supervisor"
    engine_provider.forget()
    yield oidc_provider
    engine_provider.forget()


@pytest.fixture
def page(chromium):
    from tests.browser import watch_csp

    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    violations = watch_csp(context, page)
    yield page
    context.close()
    assert not violations, f"Content-Security-Policy violations: {violations}"


def screenshot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
