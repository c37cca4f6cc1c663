"""Crawl: each demo role, on a fully seeded database with learners in every quiz state, follows every
link on every page reachable in two clicks from the home page. No page answers 5xx (issue 15).

The database: `seed_demo` (demo users, the real course, demo enrollments) plus one learner per row of the
state matrix (tests/unit/test_quiz_state_matrix.py), all reporting to the demo supervisor, so the team
pages and person drill-downs show every state too.
"""

import io
import re
from html import unescape
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.management import call_command

from accounts.models import User
from tests.unit.test_quiz_state_matrix import STATES

pytestmark = pytest.mark.django_db

ROLES = ("learner", "supervisor", "admin", "surveyor")
HREF = re.compile(r"""href=["']([^"'#]+)""")
# Not pages: static and media files; log-out would end the crawl's session.
SKIP = re.compile(r"^/(static|media)/|/logout/|^/api/docs|^/api/schema")


def links_of(url: str, body: str) -> set[str]:
    found = set()
    for href in HREF.findall(body):
        target = urljoin(url, unescape(href))
        parts = urlsplit(target)
        if parts.scheme not in ("", "http") or parts.netloc not in ("", "testserver"):
            continue  # another site
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if not SKIP.search(parts.path):
            found.add(path)
    return found


@pytest.fixture
def seeded(tmp_path, clock, monkeypatch, settings):
    settings.COURSE_ALLOW_UNREVIEWED = True  # as in the embedded demo run: the draft course is taken
    monkeypatch.setenv("DEMO_PASSWORD", "crawl-demo-password-1")
    call_command("seed_demo", stdout=io.StringIO())
    supervisor = User.objects.get(username="supervisor")
    for i, row in enumerate(STATES):
        row.arrange(tmp_path / f"state-{i}", clock, supervisor)
    return {role: User.objects.get(username=role) for role in ROLES}


def test_every_page_two_clicks_from_home_answers_without_a_server_error(seeded, client):
    visited_total = 0
    for role, user in seeded.items():
        client.force_login(user)
        seen: dict[str, int] = {}
        frontier = {"/"}
        for depth in range(3):  # the home page, then two clicks
            following = set()
            for url in sorted(frontier - set(seen)):
                response = client.get(url)
                seen[url] = response.status_code
                if depth < 2 and response.status_code == 200 and "html" in response.get("Content-Type", ""):
                    following |= links_of(url, response.content.decode(errors="replace"))
            frontier = following
        errors = {url: status for url, status in seen.items() if status >= 500}
        assert errors == {}, f"{role}: server errors on {errors}"
        assert seen["/"] == 200
        assert len(seen) > 5, f"{role} reached only {sorted(seen)}"
        visited_total += len(seen)
        client.logout()
    assert visited_total > 40
