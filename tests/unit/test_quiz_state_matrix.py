"""Every quiz state on every page and through the API, from the one start rule (issue 15).

STATES is the table: one row per state a learner meets. Each row arranges a learner through the services
(no hand-made rows), then renders the home page, the course page, the quiz intro, the attempt page (where
one exists), the result page (where one exists), the transcript and the supervisor's person drill-down:
each answers 200 and shows the rule's state and reason, and the right action (start, resume, see the
result, or why not and when). The API's course endpoint gives the same state name and reason, and a
start through the page and the API is enforced exactly as displayed. Adding a state adds a row.
"""

import html
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from courses.enrollment import services
from courses.models import Enrollment
from quizzes.models import Attempt, QuizOverride
from quizzes.services import grant_quiz_override
from tests.beyond_helpers import certify, load, new_review, rewrite_lesson, write_course
from tests.course_helpers import load_tiny, read_all_lessons, take_quiz
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# Module quizzes: 10 minutes, 2 attempts, 30 minutes between them. Final exam: 3 attempts, 60 minutes.
MODULE_QUIZ = {"time_limit_minutes": 10, "attempt_limit": 2, "cooldown_minutes": 30}
FINAL_EXAM = {"attempt_limit": 3, "cooldown_minutes": 60}

START = "Start the quiz"
RETAKE = "Start a new attempt"
RESUME = "Resume your attempt"
SEE_RESULT = "See your result"
NO_ACTION = None  # no button: the reason says why, and when the next start opens


def at(moment) -> str:
    return f"{timezone.localtime(moment):%H:%M on %d %b %Y}"


@dataclass
class Scene:
    learner: object
    quiz: object
    course_path: str  # the course page (or the clinical update's page)
    slug: str
    attempts: list  # the learner's attempts on the quiz, oldest first
    reason: str  # the reason every page and the API must show, in the rule's words
    home_reason: str | None = None  # when the home page's next step is about another quiz


def _world(tmp_path, supervisor):
    tiny = load_tiny(tmp_path, quiz=MODULE_QUIZ, final=FINAL_EXAM)
    learner = UserFactory(supervisor=supervisor, first_name="Matrix", last_name="Learner")
    services.enroll(user=learner, course=tiny.course)
    return tiny, learner


def _module_scene(tiny, learner, reason, *, home_reason=None, quiz=None):
    quiz = quiz or tiny.modules[0].quiz
    return Scene(
        learner=learner,
        quiz=quiz,
        course_path=f"/courses/{tiny.course.slug}/",
        slug=tiny.course.slug,
        attempts=list(Attempt.objects.filter(user=learner, quiz=quiz).order_by("number")),
        reason=reason,
        home_reason=home_reason,
    )


def _read_module(learner, module):
    for lesson_id in module.lessons.values_list("pk", flat=True):
        services.complete_lesson(user=learner, lesson_id=lesson_id)


def not_started(tmp_path, clock, supervisor):
    tiny, learner = _world(tmp_path, supervisor)
    _read_module(learner, tiny.modules[0])
    return _module_scene(tiny, learner, "Not attempted yet. You can start now.")


def locked_by_unread_lessons(tmp_path, clock, supervisor):
    tiny, learner = _world(tmp_path, supervisor)
    return _module_scene(tiny, learner, "0 of 2 lessons read · continue with Lesson 1 of ma")


def open_attempt(tmp_path, clock, supervisor):
    tiny, learner = _world(tmp_path, supervisor)
    _read_module(learner, tiny.modules[0])
    services.start_quiz_attempt(user=learner, quiz=tiny.modules[0].quiz)
    clock.advance(minutes=3)
    return _module_scene(tiny, learner, "You have an attempt in progress. Resume it where you left off.")


def open_past_deadline(tmp_path, clock, supervisor):
    tiny, learner = _world(tmp_path, supervisor)
    _read_module(learner, tiny.modules[0])
    services.start_quiz_attempt(user=learner, quiz=tiny.modules[0].quiz)
    clock.advance(minutes=11)
    return _module_scene(
        tiny,
        learner,
        "Time ran out on your attempt. Open it to see the result: the answers saved in time are graded.",
    )


def _fail(tiny, learner, quiz):
    return take_quiz(learner, quiz, tiny.specs, correct=False)


def cooling_down(tmp_path, clock, supervisor):
    tiny, learner = _world(tmp_path, supervisor)
    _read_module(learner, tiny.modules[0])
    failed = _fail(tiny, learner, tiny.modules[0].quiz)
    clock.advance(minutes=5)
    return _module_scene(
        tiny, learner, f"You can take this quiz again at {at(failed.submitted_at + timedelta(minutes=30))}."
    )


def _used_every_attempt(tmp_path, clock, supervisor):
    tiny, learner = _world(tmp_path, supervisor)
    _read_module(learner, tiny.modules[0])
    _fail(tiny, learner, tiny.modules[0].quiz)
    clock.advance(minutes=31)
    _fail(tiny, learner, tiny.modules[0].quiz)
    clock.advance(minutes=31)
    return tiny, learner


def attempt_limit_reached(tmp_path, clock, supervisor):
    tiny, learner = _used_every_attempt(tmp_path, clock, supervisor)
    return _module_scene(
        tiny, learner, "You have used all 2 attempts for this quiz. Ask your supervisor if you need another."
    )


def passed(tmp_path, clock, supervisor):
    tiny, learner = _world(tmp_path, supervisor)
    _read_module(learner, tiny.modules[0])
    take_quiz(learner, tiny.modules[0].quiz, tiny.specs)
    clock.advance(minutes=31)
    return _module_scene(
        tiny,
        learner,
        "You have passed this quiz. You may practise again; your passing result stays.",
        # the home page's next step is the next quiz not passed: module b's, still locked
        home_reason="0 of 2 lessons read · continue with Lesson 1 of mb",
    )


def failed_with_attempts_left(tmp_path, clock, supervisor):
    tiny, learner = _world(tmp_path, supervisor)
    _read_module(learner, tiny.modules[0])
    _fail(tiny, learner, tiny.modules[0].quiz)
    clock.advance(minutes=31)
    return _module_scene(tiny, learner, "Not passed yet. You can try again now.")


def failed_final_in_cool_down(tmp_path, clock, supervisor):
    """The state that answered 500 on the course page."""
    tiny, learner = _world(tmp_path, supervisor)
    read_all_lessons(learner, tiny.version)
    for module in tiny.modules:
        take_quiz(learner, module.quiz, tiny.specs)
    failed = _fail(tiny, learner, tiny.version.final_exam)
    clock.advance(minutes=5)
    return _module_scene(
        tiny,
        learner,
        f"You can take this quiz again at {at(failed.submitted_at + timedelta(minutes=60))}.",
        quiz=tiny.version.final_exam,
    )


def extra_attempt_granted(tmp_path, clock, supervisor):
    tiny, learner = _used_every_attempt(tmp_path, clock, supervisor)
    grant_quiz_override(
        user=learner,
        quiz=tiny.modules[0].quiz,
        kind=QuizOverride.Kind.EXTRA_ATTEMPT,
        reason="Sick during the second attempt",
        granted_by=supervisor,
    )
    return _module_scene(tiny, learner, "Not passed yet. You can try again now.")


def cool_down_reset(tmp_path, clock, supervisor):
    tiny, learner = _world(tmp_path, supervisor)
    _read_module(learner, tiny.modules[0])
    _fail(tiny, learner, tiny.modules[0].quiz)
    clock.advance(minutes=5)
    grant_quiz_override(
        user=learner,
        quiz=tiny.modules[0].quiz,
        kind=QuizOverride.Kind.COOLDOWN_RESET,
        reason="Fire alarm during the attempt",
        granted_by=supervisor,
    )
    return _module_scene(tiny, learner, "Not passed yet. You can try again now.")


def clinical_update_enrollment(tmp_path, clock, supervisor):
    course = load(write_course(tmp_path, slug="upd", ce_hours=0, with_final=False))
    learner = UserFactory(supervisor=supervisor, first_name="Update", last_name="Learner")
    certify(learner, course)
    clock.advance(days=10)
    rewrite_lesson(
        course.path, "ma", 1, extra="New guidance: a second dose after 2-3 minutes.", significant=True
    )
    new_review(course.path, date(2030, 3, 9))
    v2 = load(course.path)
    update = Enrollment.objects.get(user=learner, kind=Enrollment.Kind.UPDATE)
    assert update.version_id == v2.version.pk
    return Scene(
        learner=learner,
        quiz=update.update_quiz,
        course_path=f"/updates/{update.pk}/",
        slug=course.course.slug,
        attempts=[],
        reason="0 of 1 lesson read · continue with Lesson 1 of ma",
    )


@dataclass(frozen=True)
class Row:
    arrange: object
    state: str  # the rule's state name, the same on every page and in the API
    action: str | None  # the button the quiz intro and result page offer
    can_start: bool  # whether a start through the page and the API creates a new attempt

    @property
    def name(self) -> str:
        return self.arrange.__name__


STATES = [
    Row(not_started, "not_started", START, True),
    Row(locked_by_unread_lessons, "locked", NO_ACTION, False),
    Row(open_attempt, "in_progress", RESUME, False),
    Row(open_past_deadline, "time_up", SEE_RESULT, False),
    Row(cooling_down, "cooling_down", NO_ACTION, False),
    Row(attempt_limit_reached, "no_attempts_left", NO_ACTION, False),
    Row(passed, "passed", RETAKE, True),
    Row(failed_with_attempts_left, "failed", RETAKE, True),
    Row(failed_final_in_cool_down, "cooling_down", NO_ACTION, False),
    Row(extra_attempt_granted, "failed", RETAKE, True),
    Row(cool_down_reset, "failed", RETAKE, True),
    Row(clinical_update_enrollment, "locked", NO_ACTION, False),
]


@pytest.fixture
def supervisor(db):
    return UserFactory(role=Role.SUPERVISOR, first_name="Super", last_name="Visor")


def text_of(response) -> str:
    assert response.status_code == 200, (response.status_code, response.request["PATH_INFO"])
    return html.unescape(response.content.decode())


def quiz_marker(state: str) -> str:
    return f'data-quiz-state="{state}"'


def assert_action(text: str, row: Row) -> None:
    for action in (START, RETAKE, RESUME, SEE_RESULT):
        if action == row.action:
            assert action in text, f"{row.name}: expected the action {action!r}"
        else:
            assert action not in text, f"{row.name}: unexpected action {action!r}"


@pytest.mark.parametrize("row", STATES, ids=lambda row: row.name)
def test_every_page_and_the_api_show_the_state_from_the_one_rule(row, tmp_path, clock, supervisor, client):
    scene = row.arrange(tmp_path, clock, supervisor)
    client.force_login(scene.learner)
    quiz = scene.quiz

    # The API first: reading it grades nothing.
    detail = client.get(f"/api/v1/courses/{scene.slug}/").json()
    update = detail.get("clinical_update")
    payloads = (
        [m["quiz"] for m in detail["modules"]] + [detail["final_exam"]] + ([update["quiz"]] if update else [])
    )
    payload = next(p for p in payloads if p and p["id"] == quiz.pk)
    assert (payload["state"], payload["reason"], payload["can_start"]) == (
        row.state,
        scene.reason,
        row.can_start,
    )

    # The transcript endpoint's next step is the home page's (the next quiz not passed, or this one).
    progress = client.get("/api/v1/me/progress/").json()["results"]
    assert (scene.home_reason or scene.reason) in [
        r["next_quiz"]["reason"] for r in progress if r["next_quiz"]
    ]

    home = text_of(client.get("/"))
    assert (scene.home_reason or scene.reason) in home

    course_page = text_of(client.get(scene.course_path))
    assert quiz_marker(row.state) in course_page and scene.reason in course_page

    intro = text_of(client.get(f"/quizzes/{quiz.pk}/"))
    assert quiz_marker(row.state) in intro and scene.reason in intro
    assert_action(intro, row)

    submitted = [a for a in scene.attempts if a.state == "submitted"]
    transcript = text_of(client.get("/transcript/"))
    assert detail["title"] in transcript and (scene.home_reason or scene.reason) in transcript
    assert all(quiz.title in transcript for _ in submitted)  # a graded attempt is on the record

    client.force_login(supervisor)
    person = text_of(client.get(f"/team/people/{scene.learner.pk}/"))
    assert quiz_marker(row.state) in person and scene.reason in person
    client.force_login(scene.learner)

    if submitted:
        result = text_of(client.get(f"/attempts/{submitted[-1].pk}/result/"))
        assert quiz_marker(row.state) in result and scene.reason in result
        assert_action(result, row)

    before = Attempt.objects.filter(user=scene.learner, quiz=quiz).count()
    started = client.post(f"/api/v1/quizzes/{quiz.pk}/attempts/")
    if row.can_start:
        assert started.status_code == 201
        assert Attempt.objects.filter(user=scene.learner, quiz=quiz).count() == before + 1
    elif row.state == "in_progress":
        assert started.status_code == 200 and started.json()["id"] == scene.attempts[-1].pk
    elif row.state == "time_up":
        # the start grades the expired attempt, then decides afresh with the same rule
        open_one = scene.attempts[-1]
        assert Attempt.objects.get(pk=open_one.pk).state == "submitted"
        assert started.status_code in (201, 409)
    else:
        body = started.json()
        assert started.status_code == 409
        assert (body["state"], body["reason"]) == (row.state, scene.reason)
        assert Attempt.objects.filter(user=scene.learner, quiz=quiz).count() == before


def test_an_open_attempt_page_answers_and_an_expired_one_leads_to_its_result(
    tmp_path, clock, supervisor, client
):
    scene = open_attempt(tmp_path, clock, supervisor)
    client.force_login(scene.learner)
    attempt = scene.attempts[-1]
    page = text_of(client.get(f"/attempts/{attempt.pk}/"))
    assert "Question" in page or "question" in page
    clock.advance(minutes=10)  # now past the deadline and the grace
    followed = client.get(f"/attempts/{attempt.pk}/", follow=True)
    assert followed.status_code == 200
    assert followed.redirect_chain[-1][0] == f"/attempts/{attempt.pk}/result/"
    assert Attempt.objects.get(pk=attempt.pk).closed_by == Attempt.Closure.DEADLINE


def test_the_matrix_covers_every_state_of_the_rule():
    from quizzes.eligibility import QuizStartState

    assert {row.state for row in STATES} == {str(s) for s in QuizStartState}


def test_a_time_multiplier_acts_the_same_on_the_page_and_the_api(tmp_path, clock, supervisor, client):
    scene = not_started(tmp_path, clock, supervisor)
    grant_quiz_override(
        user=scene.learner,
        quiz=scene.quiz,
        kind=QuizOverride.Kind.TIME_MULTIPLIER,
        value=1.5,
        reason="Reading accommodation",
        granted_by=supervisor,
    )
    client.force_login(scene.learner)
    detail = client.get(f"/api/v1/courses/{scene.slug}/").json()
    assert detail["modules"][0]["quiz"]["time_multiplier"] == "1.50"
    assert "× 1.5 (your accommodation)" in text_of(client.get(f"/quizzes/{scene.quiz.pk}/"))
    started = client.post(f"/api/v1/quizzes/{scene.quiz.pk}/attempts/").json()
    attempt = Attempt.objects.get(pk=started["id"])
    assert attempt.deadline - attempt.started_at == timedelta(minutes=15)
