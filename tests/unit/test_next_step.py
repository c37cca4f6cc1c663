"""Issue 17 point 1: the next step is always shown, decided in one place (courses.next_step) and the
same on every page: My courses, the course page, a read lesson's page and a quiz result after a pass.

STATES is the table, one row per next step a learner meets, each arranged through the services: the
expected button (words and where it leads) or banner must be on every page the row names. A module's last
lesson leads to its quiz; the course page's primary button points to the quiz just unlocked, not past it;
a passed module quiz leads to the next module, the last one to the final exam, the final exam to the
sign-offs, the evaluation or the certificate; a locked quiz says how far the reading is and where to go on.
"""

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from accounts.models import Role
from courses.assignments.overrides import grant_override
from courses.certificates import services as certificates
from courses.enrollment import services
from courses.enrollment.selectors import course_outline
from courses.models import CourseEvaluation, Enrollment, EnrollmentOverride
from courses.next_step import Step, next_step
from quizzes.models import Attempt
from tests.course_helpers import load_tiny, read_all_lessons, sign_off_all_skills, take_quiz
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SKILLS = [
    {"key": "naloxone-spray", "title": "Gives nasal naloxone on a training device"},
    {"key": "recovery-position", "title": "Places a person in the recovery position"},
]
# Module quizzes: 10 minutes (for "time is up"); the final exam: 2 attempts, an hour between them.
MODULE_QUIZ = {"time_limit_minutes": 10}
FINAL_EXAM = {"attempt_limit": 2, "cooldown_minutes": 60}


@dataclass
class World:
    tiny: object
    learner: object
    supervisor: object

    @property
    def enrollment(self):
        return Enrollment.objects.filter(user=self.learner).order_by("-enrolled_at").first()

    def lessons(self, module: int) -> list:
        return list(self.tiny.modules[module].lessons.order_by("position"))

    def read(self, module: int, count: int | None = None) -> None:
        lessons = self.lessons(module)
        for lesson in lessons[: len(lessons) if count is None else count]:
            services.complete_lesson(user=self.learner, lesson_id=lesson.pk)

    def quiz(self, index: int):
        quizzes = [m.quiz for m in self.tiny.modules] + [self.tiny.version.final_exam]
        return quizzes[index]

    def take(self, index: int, *, correct: bool = True):
        return take_quiz(self.learner, self.quiz(index), self.tiny.specs, correct=correct)


@pytest.fixture
def world(tmp_path):
    tiny = load_tiny(tmp_path, quiz=MODULE_QUIZ, final=FINAL_EXAM, course_extra={"skills": SKILLS})
    supervisor = UserFactory(first_name="Sam", last_name="Supervisor", role=Role.SUPERVISOR)
    learner = UserFactory(first_name="Ada", last_name="Learner", supervisor=supervisor)
    services.enroll(user=learner, course=tiny.course)
    return World(tiny, learner, supervisor)


@dataclass(frozen=True)
class Expect:
    kind: Step
    words: str  # the button's words, or the banner's
    href: Callable | None  # world -> where the button leads; None: a banner, no button
    result_of: Callable | None = None  # world -> the passed attempt whose result page shows the step
    lesson_page: bool = True  # a read lesson's page shows the step too


def arrange_start(w, clock):
    return None


def arrange_read_lesson(w, clock):
    w.read(0, 1)


def arrange_take_quiz(w, clock):
    w.read(0)


def arrange_retry_quiz(w, clock):
    w.read(0)
    w.take(0, correct=False)


def arrange_resume(w, clock):
    w.read(0)
    services.start_quiz_attempt(user=w.learner, quiz=w.quiz(0))


def arrange_time_up(w, clock):
    arrange_resume(w, clock)
    clock.advance(minutes=11)


def arrange_next_module(w, clock):
    w.read(0)
    return w.take(0)


def arrange_final_exam(w, clock):
    read_all_lessons(w.learner, w.tiny.version)
    w.take(0)
    return w.take(1)


def arrange_final_cooling_down(w, clock):
    arrange_final_exam(w, clock)
    w.take(2, correct=False)
    clock.advance(minutes=5)


def arrange_signoffs(w, clock):
    arrange_final_exam(w, clock)
    return w.take(2)


def arrange_evaluation(w, clock):
    attempt = arrange_signoffs(w, clock)
    sign_off_all_skills(w.learner, w.tiny.version)
    return attempt


def arrange_certificate(w, clock):
    attempt = arrange_evaluation(w, clock)
    certificates.submit_evaluation(
        user=w.learner,
        enrollment_id=w.enrollment.pk,
        ratings=dict.fromkeys(CourseEvaluation.RATING_QUESTIONS, "5"),
        comments="",
    )
    return attempt


def arrange_exempt(w, clock):
    w.read(0, 1)
    grant_override(
        granted_by=w.supervisor,
        person_id=w.learner.pk,
        kind=EnrollmentOverride.Kind.EXEMPTION,
        enrollment_id=w.enrollment.pk,
        reason="Licensed paramedic: equivalent training on file",
    )


def open_attempt(w):
    return Attempt.objects.get(user=w.learner, state="in_progress").pk


STATES = {
    "start": (arrange_start, Expect(Step.START, "Start the course: Lesson 1 of ma", lambda w: f"/lessons/{w.lessons(0)[0].pk}/", lesson_page=False)),
    "read_lesson": (arrange_read_lesson, Expect(Step.READ_LESSON, "Continue with Lesson 2 of ma", lambda w: f"/lessons/{w.lessons(0)[1].pk}/")),
    "take_quiz": (arrange_take_quiz, Expect(Step.TAKE_QUIZ, "Take the module quiz", lambda w: f"/quizzes/{w.quiz(0).pk}/")),
    "retry_quiz": (arrange_retry_quiz, Expect(Step.TAKE_QUIZ, "Try the module quiz again", lambda w: f"/quizzes/{w.quiz(0).pk}/")),
    "resume_quiz": (arrange_resume, Expect(Step.RESUME_QUIZ, "Resume Quiz ma", lambda w: f"/attempts/{open_attempt(w)}/")),
    "see_result": (arrange_time_up, Expect(Step.SEE_RESULT, "See your result: Quiz ma", lambda w: f"/attempts/{open_attempt(w)}/result/")),
    "next_module": (arrange_next_module, Expect(Step.NEXT_MODULE, "Next module: Module mb", lambda w: f"/lessons/{w.lessons(1)[0].pk}/", result_of=lambda a: a)),
    "final_exam": (arrange_final_exam, Expect(Step.FINAL_EXAM, "Start the final exam", lambda w: f"/quizzes/{w.quiz(2).pk}/", result_of=lambda a: a)),
    "final_cooling_down": (arrange_final_cooling_down, Expect(Step.QUIZ_WAIT, "Open Final exam", lambda w: f"/quizzes/{w.quiz(2).pk}/")),
    "signoffs": (arrange_signoffs, Expect(Step.SIGNOFFS, "Only skill sign-offs remain. Ask Sam Supervisor to observe 2 skills.", None, result_of=lambda a: a)),
    "evaluation": (arrange_evaluation, Expect(Step.EVALUATION, "Complete the course evaluation", lambda w: f"/courses/{w.tiny.course.slug}/evaluation/", result_of=lambda a: a)),
    "certificate": (arrange_certificate, Expect(Step.CERTIFICATE, "See your certificate", lambda w: "/certificates/", result_of=lambda a: a)),
    "exempt": (arrange_exempt, Expect(Step.EXEMPT, "You are exempt from this course: there is nothing to do.", None)),
}  # fmt: skip


def text(response) -> str:
    assert response.status_code == 200, (response.status_code, response.request["PATH_INFO"])
    return " ".join(html.unescape(response.content.decode()).split())


def steps_on(body: str) -> list[tuple[str, str, str]]:
    """Every next step on a page: (kind, href or "", words)."""
    found = []
    for block in re.findall(r'<div class="next-step" data-next-step="([a-z_]+)">(.*?)</div>', body):
        kind, inner = block
        button = re.search(
            r'<a role="button" class="next-step-button[^"]*" href="([^"]+)">([^<]+)</a>', inner
        )
        banner = re.search(r'class="banner [^"]*next-step-banner" role="status">([^<]+)</p>', inner)
        found.append((kind, button.group(1) if button else "", (button or banner).group(2 if button else 1)))
    return found


@pytest.mark.parametrize("name", list(STATES))
def test_every_page_shows_the_one_next_step(name, world, clock, client):
    arrange, expect = STATES[name]
    attempt = arrange(world, clock)
    client.force_login(world.learner)
    href = expect.href(world) if expect.href else ""
    wanted = (str(expect.kind), href, expect.words)
    if expect.kind == Step.EVALUATION:  # a banner and the button
        banner = "Only the course evaluation remains: complete it to receive your certificate."
    pages = {"course": f"/courses/{world.tiny.course.slug}/", "home": "/"}
    if expect.lesson_page:
        pages["read lesson"] = f"/lessons/{world.lessons(0)[0].pk}/"
    if expect.result_of:
        pages["result"] = f"/attempts/{expect.result_of(attempt).pk}/result/"
    for page, url in pages.items():
        body = text(client.get(url))
        assert steps_on(body) == [wanted], (page, steps_on(body))
        if expect.kind == Step.EVALUATION:
            assert banner in body, page
    # The pure rule agrees with the pages.
    enrollment = world.enrollment
    outline = None if enrollment.status in ("completed", "exempt") else course_outline(enrollment=enrollment)
    step = next_step(
        enrollment=enrollment,
        outline=outline,
        evaluation_pending=expect.kind == Step.EVALUATION,
        supervisor_name="Sam Supervisor",
    )
    assert step.kind == expect.kind


def test_every_next_step_state_has_a_row():
    assert {expect.kind for _, expect in STATES.values()} | {Step.UPDATE_QUIZ} == set(Step)


def test_a_clinical_update_leads_from_its_changed_lessons_to_its_quiz(tmp_path, clock, client):
    from tests.unit.test_quiz_state_matrix import clinical_update_enrollment

    supervisor = UserFactory(role=Role.SUPERVISOR)
    scene = clinical_update_enrollment(tmp_path, clock, supervisor)
    update = Enrollment.objects.get(user=scene.learner, kind=Enrollment.Kind.UPDATE)
    client.force_login(scene.learner)
    lesson = update.version.modules.get(key="ma").lessons.get(key=update.update_lesson_keys[0])
    body = text(client.get(f"/updates/{update.pk}/"))
    assert steps_on(body) == [("start", f"/lessons/{lesson.pk}/", f"Start the update: {lesson.title}")]
    assert "Mark as read and take the update quiz" in text(client.get(f"/lessons/{lesson.pk}/"))
    response = client.post(f"/lessons/{lesson.pk}/read/")
    assert response["Location"] == f"/quizzes/{update.update_quiz_id}/"
    body = text(client.get(f"/updates/{update.pk}/"))
    assert steps_on(body) == [("update_quiz", f"/quizzes/{update.update_quiz_id}/", "Take the update quiz")]


def test_the_last_lesson_of_a_module_leads_to_the_module_quiz(world, client):
    lessons = world.lessons(0)
    world.read(0, len(lessons) - 1)
    client.force_login(world.learner)
    assert "Mark as read and take the module quiz" in text(client.get(f"/lessons/{lessons[-1].pk}/"))
    response = client.post(f"/lessons/{lessons[-1].pk}/read/")
    assert response.status_code == 302 and response["Location"] == f"/quizzes/{world.quiz(0).pk}/"


def test_a_lesson_before_the_last_moves_on_to_the_next_lesson(world, client):
    first, second = world.lessons(0)
    client.force_login(world.learner)
    body = text(client.get(f"/lessons/{first.pk}/"))
    assert "Mark as read and continue" in body and "take the module quiz" not in body
    response = client.post(f"/lessons/{first.pk}/read/")
    assert response["Location"] == f"/lessons/{second.pk}/"


def test_a_locked_quiz_says_how_far_the_reading_is_and_where_to_go_on(world, client):
    world.read(0, 1)
    client.force_login(world.learner)
    second = world.lessons(0)[1]
    body = text(client.get(f"/quizzes/{world.quiz(0).pk}/"))
    assert "1 of 2 lessons read · continue with Lesson 2 of ma" in body
    assert f'<a role="button" href="/lessons/{second.pk}/">Continue with Lesson 2 of ma</a>' in body
    assert "Start the quiz" not in body
    final = text(client.get(f"/quizzes/{world.quiz(2).pk}/"))
    assert "1 of 4 lessons of the course read · continue with Lesson 2 of ma" in final


def test_the_final_exam_starts_with_its_own_name(world, client):
    arrange_final_exam(world, None)
    client.force_login(world.learner)
    body = text(client.get(f"/quizzes/{world.quiz(2).pk}/"))
    assert "Start the final exam</button>" in body and "Start the quiz" not in body


def test_a_module_quiz_starts_as_the_quiz(world, client):
    world.read(0)
    client.force_login(world.learner)
    body = text(client.get(f"/quizzes/{world.quiz(0).pk}/"))
    assert "Start the quiz</button>" in body and "final exam" not in body.split("<main", 1)[1]
