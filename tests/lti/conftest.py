"""The LTI platform simulator (tests/lti/platform_simulator.py) as a separate process on loopback, on a
free port of LTI_TEST_PORTS (default 8160-8169), started once per test session and stopped after it;
each test registers it afresh (`lti_platform`)."""

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest
import requests
from django.conf import settings

from lti import services
from lti.models import Platform

CLIENT_ID = "engine-tool-client"
DEPLOYMENT_ID = "deployment-1"
LAUNCH_URL = "http://testserver/lti/launch/"
LEARNER_ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR_ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"


def _free_port() -> int:
    first, last = (int(p) for p in os.environ.get("LTI_TEST_PORTS", "8160-8169").split("-"))
    for port in range(first, last + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {first}-{last} for the LTI platform simulator")


@pytest.fixture(scope="session")
def lti_simulator_url():
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.lti.platform_simulator", "--port", str(port)],
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                requests.get(f"{url}/jwks", timeout=1).raise_for_status()
                break
            except requests.RequestException:
                if process.poll() is not None or time.monotonic() > deadline:
                    out = process.stdout.read().decode() if process.poll() is not None else ""
                    raise RuntimeError(f"the LTI platform simulator did not start: {out}") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class Sim:
    url: str
    platform: Platform

    def prepare(self, **message) -> str:
        message.setdefault("sub", "lms-user-1")
        return requests.post(f"{self.url}/sim/launches", json=message, timeout=5).json()["lti_message_hint"]

    def state(self) -> dict:
        return requests.get(f"{self.url}/sim/state", timeout=5).json()

    def fail_next_scores(self, count: int) -> None:
        requests.post(f"{self.url}/sim/fail", json={"scores": count}, timeout=5)

    def learn_tool_keys(self, jwks: dict) -> None:
        requests.post(f"{self.url}/sim/tool-keys", json=jwks, timeout=5).raise_for_status()


def register_simulator(sim_url: str, *, tool_base: str, tool_jwks: dict) -> Sim:
    """The simulator registered in the admin's way (services.save_platform) and told the tool's keys."""
    from django.db import transaction

    with transaction.atomic():
        platform = services.save_platform(
            platform=Platform(
                name="Simulated Moodle",
                issuer=sim_url,
                client_id=CLIENT_ID,
                auth_login_url=f"{sim_url}/auth",
                auth_token_url=f"{sim_url}/token",
                jwks_url=f"{sim_url}/jwks",
            ),
            deployment_ids=[DEPLOYMENT_ID],
        )
    requests.post(
        f"{sim_url}/sim/setup",
        json={
            "client_id": CLIENT_ID,
            "deployment_id": DEPLOYMENT_ID,
            "launch_url": f"{tool_base}/lti/launch/",
            "login_url": f"{tool_base}/lti/login/",
            "tool_jwks": tool_jwks,
            "lineitems": {"1": {"label": "Preset column", "scoreMaximum": 100, "resourceLinkId": "link-1"}},
            "members": {
                "course-7": [
                    {
                        "user_id": "lms-user-1",
                        "name": "Rae Rivera",
                        "email": "rae@example.org",
                        "roles": [LEARNER_ROLE],
                        "status": "Active",
                    },
                    {
                        "user_id": "lms-user-2",
                        "name": "Ola Okafor",
                        "email": "ola@example.org",
                        "roles": [LEARNER_ROLE],
                        "status": "Active",
                    },
                    {
                        "user_id": "lms-teacher",
                        "name": "Tess Teacher",
                        "email": "tess@example.org",
                        "roles": [INSTRUCTOR_ROLE],
                        "status": "Active",
                    },
                ]
            },
        },
        timeout=5,
    ).raise_for_status()
    return Sim(url=sim_url, platform=platform)


@pytest.fixture
def lti_platform(db, client, lti_simulator_url):
    """The simulator registered, for a tool driven by Django's test client (http://testserver)."""
    return register_simulator(
        lti_simulator_url, tool_base="http://testserver", tool_jwks=client.get("/lti/jwks/").json()
    )
