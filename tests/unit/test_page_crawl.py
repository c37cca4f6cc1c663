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
from courses.enrollment import selectors
from tests.unit.test_quiz_state_matrix import STATES

pytestmark = pytest.mark.django_db

ROLES = ("learner", "supervisor", "admin", "surveyor")
# In this order: each holds for fewer minutes than the one before.
STILL_HOLDING_FOR_MINUTES = ("failed_final_in_cool_down", "cooling_down", "open_attempt")
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
    # Arranging moves the clock on; the states that hold only for minutes are arranged last, so at
    # crawl time every learner is in their row's state (checked below).
    rows = sorted(
        STATES,
        key=lambda row: (
            STILL_HOLDING_FOR_MINUTES.index(row.name) + 1 if row.name in STILL_HOLDING_FOR_MINUTES else 0
        ),
    )
    scenes = [(row, row.arrange(tmp_path / f"state-{i}", clock, supervisor)) for i, row in enumerate(rows)]
    for row, scene in scenes:
        enrollment = selectors.enrollment_for_quiz(user=scene.learner, quiz=scene.quiz)
        state = selectors.course_outline(enrollment=enrollment).quiz_state(scene.quiz.pk)
        assert state.state == row.state, (row.name, state.state, state.reason)
    return {role: User.objects.get(username=role) for role in ROLES}


def test_every_page_two_clicks_from_home_answers_without_a_server_error(seeded, client):
    visited_total = 0
    for role, user in seeded.items():
        client.force_login(user)
        seen: dict[str, int] = {}
        # Each role's home is "/" or where "/" sends it (a surveyor's home is the evidence packs).
        home = client.get("/", follow=True)
        assert home.status_code == 200, f"{role}: home answered {home.status_code}"
        frontier = {home.request["PATH_INFO"]}
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
        assert len(seen) > 5, f"{role} reached only {sorted(seen)}"
        visited_total += len(seen)
        client.logout()
    assert visited_total > 40
