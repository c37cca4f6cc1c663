"""Issue 17 point 1: the next step is always shown. A module's last lesson leads to its quiz (whether the
quiz may start is the quiz page's to say, from the one start rule)."""

import html
import re

import pytest

from courses import services
from tests.course_helpers import load_tiny
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SKILLS = [
    {"key": "naloxone-spray", "title": "Gives nasal naloxone on a training device"},
    {"key": "recovery-position", "title": "Places a person in the recovery position"},
]


@pytest.fixture
def course(tmp_path):
    return load_tiny(tmp_path, course_extra={"skills": SKILLS})


@pytest.fixture
def people(db):
    supervisor = UserFactory(first_name="Sam", last_name="Supervisor", role="supervisor")
    learner = UserFactory(first_name="Ada", last_name="Learner", supervisor=supervisor)
    return learner, supervisor


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return " ".join(html.unescape(response.content.decode()).split())


def read(learner, module, count=None):
    lessons = list(module.lessons.order_by("position"))
    for lesson in lessons[: count if count is not None else len(lessons)]:
        services.complete_lesson(user=learner, lesson_id=lesson.pk)


def primary(body: str) -> tuple[str, str]:
    """The next-step button: (href, words)."""
    match = re.search(r'<a role="button" class="next-step-button" href="([^"]+)">([^<]+)</a>', body)
    assert match, body[:3000]
    return match.group(1), match.group(2)


def test_last_lesson_of_a_module_leads_to_the_module_quiz(client, course, people):
    learner, _ = people
    services.enroll(user=learner, course=course.course)
    lessons = list(course.modules[0].lessons.order_by("position"))
    read(learner, course.modules[0], count=len(lessons) - 1)
    client.force_login(learner)
    body = text(client.get(f"/lessons/{lessons[-1].pk}/"))
    assert "Mark as read and take the module quiz" in body
    response = client.post(f"/lessons/{lessons[-1].pk}/read/")
    assert response.status_code == 302 and response["Location"] == f"/quizzes/{course.modules[0].quiz.pk}/"
    # a lesson before the last still moves on to the next lesson
    first = text(client.get(f"/lessons/{lessons[0].pk}/"))
    assert "Mark as read and take the module quiz" not in first
