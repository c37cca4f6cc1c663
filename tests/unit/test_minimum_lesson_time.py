"""A course's minimum time on each lesson (issue 24, finding 1): enforced by the server from the first
opening, through the API and the pages, and recorded in the transcript behind the CE hours."""

import re
from datetime import timedelta

import pytest
import yaml
from django.utils import timezone

from courses.catalog import services as catalog_services
from courses.enrollment import services
from courses.models import LessonProgress
from quizzes.errors import ContentError
from tests.course_helpers import load_tiny, write_tiny_course
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def timed(tmp_path):
    # lessons are 3 minutes: 50% is 90 seconds
    tiny = load_tiny(tmp_path, course_extra={"minimum_lesson_percent": 50})
    learner = UserFactory()
    services.enroll(user=learner, course=tiny.course)
    lesson = tiny.modules[0].lessons.order_by("position").first()
    return tiny, learner, lesson


def test_api_refuses_completion_before_the_minimum_with_the_time_remaining(timed, api_client):
    tiny, learner, lesson = timed
    assert tiny.course.minimum_lesson_percent == 50
    api_client.force_authenticate(learner)
    refused = api_client.post(f"/api/v1/lessons/{lesson.pk}/complete/")
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "lesson_minimum_time" and 89 <= body["seconds_remaining"] <= 90
    assert "at least 1 min 30 s" in body["detail"]
    # the refused request started the clock: the opening is recorded, the lesson is not read
    progress = LessonProgress.objects.get(lesson=lesson)
    assert progress.completed_at is None
    LessonProgress.objects.filter(pk=progress.pk).update(
        first_opened_at=timezone.now() - timedelta(seconds=60)
    )
    again = api_client.post(f"/api/v1/lessons/{lesson.pk}/complete/")
    assert again.status_code == 409 and 29 <= again.json()["seconds_remaining"] <= 30
    LessonProgress.objects.filter(pk=progress.pk).update(
        first_opened_at=timezone.now() - timedelta(seconds=95)
    )
    done = api_client.post(f"/api/v1/lessons/{lesson.pk}/complete/")
    assert done.status_code == 200 and done.json()["read"] is True
    progress.refresh_from_db()
    assert progress.completed_at is not None and 95 <= progress.seconds_recorded <= 97


def test_service_measures_from_the_first_opening_only(timed):
    _, learner, lesson = timed
    t0 = timezone.now()
    services.open_lesson(user=learner, lesson_id=lesson.pk, now=t0)
    services.open_lesson(user=learner, lesson_id=lesson.pk, now=t0 + timedelta(seconds=80))  # reopening
    with pytest.raises(services.LessonTooSoon) as error:
        services.complete_lesson(user=learner, lesson_id=lesson.pk, now=t0 + timedelta(seconds=89))
    assert error.value.seconds_remaining == 1
    # the reported reading time from the browser does not count: only the server clock does
    services.record_reading_time(user=learner, lesson_id=lesson.pk, seconds=600, now=t0)
    with pytest.raises(services.LessonTooSoon):
        services.complete_lesson(user=learner, lesson_id=lesson.pk, now=t0 + timedelta(seconds=10))
    services.complete_lesson(user=learner, lesson_id=lesson.pk, now=t0 + timedelta(hours=5))
    # recorded time is capped at the lesson's estimate (3 minutes), however long the tab stayed open
    assert LessonProgress.objects.get(lesson=lesson).seconds_recorded == 180
    # idempotent once read
    services.complete_lesson(user=learner, lesson_id=lesson.pk, now=t0 + timedelta(hours=6))


def test_page_refuses_with_a_message_and_stays_on_the_lesson(timed, client):
    _, learner, lesson = timed
    client.force_login(learner)
    client.get(f"/lessons/{lesson.pk}/")
    response = client.post(f"/lessons/{lesson.pk}/read/", follow=True)
    assert response.redirect_chain[-1][0] == f"/lessons/{lesson.pk}/"
    assert (
        "You can mark it read in 1 min 30 s" in response.content.decode()
        or "You can mark it read in 1 min 29 s" in response.content.decode()
    )
    assert LessonProgress.objects.get(lesson=lesson).completed_at is None


def test_off_by_default(tmp_path):
    tiny = load_tiny(tmp_path)
    assert tiny.course.minimum_lesson_percent == 0
    learner = UserFactory()
    services.enroll(user=learner, course=tiny.course)
    lesson = tiny.modules[0].lessons.first()
    services.complete_lesson(user=learner, lesson_id=lesson.pk)
    assert LessonProgress.objects.get(lesson=lesson).completed_at is not None


def test_transcript_shows_the_recorded_time(timed, client, api_client):
    tiny, learner, _ = timed
    t0 = timezone.now() - timedelta(minutes=10)
    for lesson in tiny.modules[0].lessons.all():
        services.open_lesson(user=learner, lesson_id=lesson.pk, now=t0)
        services.complete_lesson(user=learner, lesson_id=lesson.pk, now=t0 + timedelta(seconds=150))
    api_client.force_authenticate(learner)
    row = api_client.get("/api/v1/me/progress/").json()["results"][0]
    assert row["lesson_minutes_recorded"] == 5  # two lessons of 150 s
    client.force_login(learner)
    assert re.search(r'<td [^>]*class="lesson-time">5 min</td>', client.get("/transcript/").content.decode())


@pytest.mark.parametrize("value", [-1, 101, "half", True])
def test_loader_refuses_a_bad_minimum(tmp_path, value):
    root = write_tiny_course(tmp_path)
    course = yaml.safe_load((root / "course.yaml").read_text())
    (root / "course.yaml").write_text(yaml.safe_dump({**course, "minimum_lesson_percent": value}))
    with pytest.raises(ContentError, match="minimum_lesson_percent must be a whole number"):
        catalog_services.load_course(path=root)
