"""Enrollments and progress: one meaning of "lesson read", "quiz passed" and "course complete", stored by
the services, read by one selector, recomputed by `check_progress`; and the course endpoints of the API.

Most tests use a tiny published course written to tmp_path (tests/course_helpers.py): two modules of two
lessons, four-question banks (six gradable items each, one critical), a final exam of two per bank.
"""

import io

import pytest
from django.core.management import call_command

from courses.catalog import services as catalog_services
from courses.enrollment import selectors, services
from courses.models import Enrollment, Lesson, LessonProgress
from quizzes.errors import DeadlinePassed
from quizzes.models import Attempt, Question
from tests.course_helpers import (
    TINY_ITEMS_PER_BANK,
    answer_attempt,
    append_lesson_text,
    complete_course,
    course_quizzes,
    load_tiny,
    read_all_lessons,
    take_quiz,
)
from tests.factories import UserFactory
from tests.quiz_content import correct_response
from tests.quiz_helpers import flat_payloads

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiny(tmp_path):
    return load_tiny(tmp_path)


@pytest.fixture
def learner(db):
    return UserFactory()


def enrol(user, course, **kwargs) -> Enrollment:
    enrollment, _ = services.enroll(user=user, course=course, **kwargs)
    return enrollment


def lesson_ids(module) -> list[int]:
    return list(module.lessons.order_by("position").values_list("pk", flat=True))


def assert_stored_matches_recomputed(enrollment: Enrollment) -> None:
    enrollment.refresh_from_db()
    recomputed = selectors.compute_progress(enrollment)
    assert selectors.stored_progress(enrollment) == recomputed
    assert enrollment.progress_percent == recomputed.percent
    assert (enrollment.status == Enrollment.Status.COMPLETED) == recomputed.complete


# --- lessons --------------------------------------------------------------------------------------


def test_complete_lesson_is_idempotent(tiny, learner, clock):
    enrollment = enrol(learner, tiny.course)
    first_lesson = lesson_ids(tiny.modules[0])[0]
    started = clock.now
    services.complete_lesson(user=learner, lesson_id=first_lesson)
    clock.advance(minutes=5)
    again = services.complete_lesson(user=learner, lesson_id=first_lesson)
    progress = LessonProgress.objects.get(enrollment=enrollment)
    assert progress.completed_at == started and progress.first_opened_at == started
    assert (again.lessons_read, again.lessons_total) == (1, 4)
    assert again.status == Enrollment.Status.IN_PROGRESS and again.started_at == started
    assert again.progress_percent == 100 // 7  # 1 of 4 lessons + 3 quizzes
    assert_stored_matches_recomputed(enrollment)


def test_complete_lesson_api_is_idempotent_and_404s_outside_own_courses(tiny, logged_in_api, user, tmp_path):
    other = load_tiny(tmp_path / "other", slug="other-course")
    enrol(user, tiny.course)
    mine = lesson_ids(tiny.modules[0])[0]
    url = f"/api/v1/lessons/{mine}/complete/"
    first = logged_in_api.post(url)
    second = logged_in_api.post(url)
    assert first.status_code == second.status_code == 200
    assert first.json()["read"] is True and second.json()["progress"]["lessons_read"] == 1
    assert LessonProgress.objects.filter(lesson_id=mine).count() == 1
    foreign = logged_in_api.post(f"/api/v1/lessons/{lesson_ids(other.modules[0])[0]}/complete/")
    missing = logged_in_api.post("/api/v1/lessons/999999999/complete/")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    assert not LessonProgress.objects.filter(lesson__module__version=other.version).exists()


def test_reading_time_is_recorded_and_capped_per_ping(tiny, learner):
    enrol(learner, tiny.course)
    lesson = lesson_ids(tiny.modules[0])[0]
    services.record_reading_time(user=learner, lesson_id=lesson, seconds=30)
    services.record_reading_time(user=learner, lesson_id=lesson, seconds=10_000)
    progress = LessonProgress.objects.get(lesson_id=lesson)
    assert progress.seconds_spent == 30 + services.MAX_SECONDS_PER_PING
    assert progress.completed_at is None  # time spent is not "read"
    with pytest.raises(services.CourseError):
        services.record_reading_time(user=learner, lesson_id=lesson, seconds=-1)


# --- quiz locks -----------------------------------------------------------------------------------


def test_module_quiz_is_locked_until_its_lessons_are_read(tiny, user, logged_in_api):
    enrol(user, tiny.course)
    first, second = tiny.modules
    url = f"/api/v1/quizzes/{first.quiz_id}/attempts/"
    locked = logged_in_api.post(url)
    assert locked.status_code == 409 and locked.json()["code"] == "locked"
    services.complete_lesson(user=user, lesson_id=lesson_ids(first)[0])
    for lesson in lesson_ids(second):  # the other module's lessons do not count
        services.complete_lesson(user=user, lesson_id=lesson)
    assert logged_in_api.post(url).json()["code"] == "locked"
    assert not Attempt.objects.exists()
    services.complete_lesson(user=user, lesson_id=lesson_ids(first)[1])
    started = logged_in_api.post(url)
    assert started.status_code == 201 and len(flat_payloads(started.json())) == TINY_ITEMS_PER_BANK


def test_final_exam_is_locked_until_every_lesson_is_read(tiny, user, logged_in_api):
    enrol(user, tiny.course)
    url = f"/api/v1/quizzes/{tiny.version.final_exam_id}/attempts/"
    for lesson in lesson_ids(tiny.modules[0]):
        services.complete_lesson(user=user, lesson_id=lesson)
    locked = logged_in_api.post(url)
    assert locked.status_code == 409 and locked.json()["code"] == "locked"
    assert locked.json()["detail"] == "2 of 4 lessons of the course read · continue with Lesson 1 of mb"
    detail = logged_in_api.get(f"/api/v1/courses/{tiny.course.slug}/").json()
    assert (
        detail["final_exam"]["state"] == "locked" and detail["modules"][0]["quiz"]["state"] == "not_started"
    )
    for lesson in lesson_ids(tiny.modules[1]):
        services.complete_lesson(user=user, lesson_id=lesson)
    assert logged_in_api.post(url).status_code == 201


def test_a_quiz_outside_the_learners_courses_is_not_found(tiny, user, logged_in_api):
    # The same answer as for a quiz id that does not exist (the page answers 404 too): ids cannot be probed.
    response = logged_in_api.post(f"/api/v1/quizzes/{tiny.modules[0].quiz_id}/attempts/")
    missing = logged_in_api.post("/api/v1/quizzes/987654/attempts/")
    assert response.status_code == missing.status_code == 404 and response.json() == missing.json()


# --- completion -----------------------------------------------------------------------------------


def test_passing_every_quiz_completes_the_enrollment(
    tiny, learner, clock, django_capture_on_commit_callbacks
):
    tiny.course.ce_hours = 0  # no evaluation to wait for: completion enqueues the certificate at once
    tiny.course.save(update_fields=["ce_hours"])
    enrollment = enrol(learner, tiny.course)
    assert (enrollment.lessons_total, enrollment.quizzes_total, enrollment.status) == (4, 3, "not_started")
    read_all_lessons(learner, tiny.version)
    assert_stored_matches_recomputed(enrollment)
    quizzes = course_quizzes(tiny.version)
    for quiz in quizzes[:-1]:
        clock.advance(minutes=10)
        attempt = take_quiz(learner, quiz, tiny.specs)
        assert attempt.passed is True
        assert_stored_matches_recomputed(enrollment)
        assert enrollment.status == Enrollment.Status.IN_PROGRESS and enrollment.completed_at is None
    clock.advance(minutes=10)
    with django_capture_on_commit_callbacks() as callbacks:
        final = take_quiz(learner, quizzes[-1], tiny.specs)
    assert final.passed is True
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.COMPLETED and enrollment.completed_at == clock.now
    assert (enrollment.progress_percent, enrollment.lessons_read, enrollment.quizzes_passed) == (100, 4, 3)
    assert len(callbacks) == 1  # the certificate task, enqueued once, after commit
    assert_stored_matches_recomputed(enrollment)


def test_failing_the_final_exam_does_not_complete(tiny, learner):
    enrollment = enrol(learner, tiny.course)
    read_all_lessons(learner, tiny.version)
    quizzes = course_quizzes(tiny.version)
    for quiz in quizzes[:-1]:
        take_quiz(learner, quiz, tiny.specs)
    failed = take_quiz(learner, quizzes[-1], tiny.specs, correct=False)
    assert failed.passed is False and failed.score == 0
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.IN_PROGRESS and enrollment.completed_at is None
    assert (enrollment.quizzes_passed, enrollment.progress_percent) == (2, (4 + 2) * 100 // 7)
    assert_stored_matches_recomputed(enrollment)


def test_a_missed_critical_question_fails_a_quiz_whatever_the_score(tiny, learner):
    enrollment = enrol(learner, tiny.course)
    module = tiny.modules[0]
    for lesson in lesson_ids(module):
        services.complete_lesson(user=learner, lesson_id=lesson)
    attempt, _ = services.start_quiz_attempt(user=learner, quiz=module.quiz)
    critical = Question.objects.get(pk__in=attempt.layout["order"], critical=True)
    answer_attempt(attempt, learner, tiny.specs)
    services.save_quiz_answer(
        attempt_id=attempt.pk, user=learner, question_id=critical.pk, response={"choice_ids": []}
    )
    attempt = services.submit_quiz_attempt(attempt_id=attempt.pk, user=learner).attempt
    assert attempt.score >= module.quiz.pass_mark  # 5 of 6 items right
    assert attempt.passed is False and attempt.critical_missed == [
        {"question": critical.pk, "objective": "MA-1"}
    ]
    enrollment.refresh_from_db()
    assert enrollment.quizzes_passed == 0
    assert_stored_matches_recomputed(enrollment)


# --- check_progress -------------------------------------------------------------------------------


def check_progress(*args) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("check_progress", *args, stdout=out)
    except SystemExit as exit_:
        return exit_.code, out.getvalue()
    return 0, out.getvalue()


def realistic_sequence(tiny, clock) -> dict[str, Enrollment]:
    done, halfway, idle = UserFactory(), UserFactory(), UserFactory()
    enrollments = {
        name: enrol(u, tiny.course) for name, u in (("done", done), ("halfway", halfway), ("idle", idle))
    }
    complete_course(done, tiny.version, tiny.specs)
    clock.advance(hours=1)
    for lesson in lesson_ids(tiny.modules[0]):
        services.complete_lesson(user=halfway, lesson_id=lesson)
    take_quiz(halfway, tiny.modules[0].quiz, tiny.specs, correct=False)
    take_quiz(halfway, tiny.modules[0].quiz, tiny.specs)
    return enrollments


def test_check_progress_reports_no_difference_after_a_realistic_sequence(tiny, clock):
    enrollments = realistic_sequence(tiny, clock)
    assert {
        name: e.status for name, e in ((n, Enrollment.objects.get(pk=e.pk)) for n, e in enrollments.items())
    } == {
        "done": "completed",
        "halfway": "in_progress",
        "idle": "not_started",
    }
    code, out = check_progress()
    assert code == 0 and "3 enrollments checked, 0 differences" in out


@pytest.mark.parametrize(
    "corruption",
    [{"lessons_read": 0}, {"quizzes_passed": 3}, {"status": "in_progress", "completed_at": None}],
    ids=["lessons_read", "quizzes_passed", "status"],
)
def test_check_progress_reports_a_corrupted_stored_field(tiny, clock, corruption):
    enrollments = realistic_sequence(tiny, clock)
    target = enrollments["done"] if "status" in corruption else enrollments["halfway"]
    Enrollment.objects.filter(pk=target.pk).update(**corruption)
    code, out = check_progress()
    assert code == 1
    assert f"enrollment {target.pk} " in out and "3 enrollments checked, 1 differences" in out
    fixed_code, _ = check_progress("--fix")
    assert fixed_code == 0
    assert check_progress() == (0, "3 enrollments checked, 0 differences\n")


# --- cycles and versions --------------------------------------------------------------------------


def test_an_attempt_from_an_earlier_cycle_does_not_count_for_a_new_cycle(tiny, learner, clock):
    first = enrol(learner, tiny.course)
    complete_course(learner, tiny.version, tiny.specs)
    clock.advance(days=365)
    second, created = services.enroll(
        user=learner, course=tiny.course, source=Enrollment.Source.RECERTIFICATION
    )
    assert created and second.cycle == 2 and second.pk != first.pk
    progress = selectors.compute_progress(second)
    assert (progress.lessons_read, progress.quizzes_passed, progress.complete) == (0, 0, False)
    outline = selectors.course_outline(enrollment=second)
    assert [m.quiz.state for m in outline.modules] == ["locked", "locked"]
    read_all_lessons(learner, tiny.version)
    second.refresh_from_db()
    assert second.quizzes_passed == 0 and second.status == Enrollment.Status.IN_PROGRESS
    outline = selectors.course_outline(enrollment=second)
    assert [m.quiz.state for m in outline.modules] == ["not_started", "not_started"]
    assert_stored_matches_recomputed(second)
    first.refresh_from_db()
    assert first.status == Enrollment.Status.COMPLETED and first.progress_percent == 100


def test_a_learner_keeps_their_version_while_new_enrollments_get_the_new_one(tiny, user, logged_in_api):
    enrol(user, tiny.course)
    append_lesson_text(tiny.path, "ma", 1)
    v2 = catalog_services.load_course(path=tiny.path, publish=True).version
    assert v2.number == 2 and v2.status == "published"
    again, created = services.enroll(user=user, course=tiny.course)
    assert not created and again.version_id == tiny.version.pk
    newcomer = enrol(UserFactory(), tiny.course)
    assert newcomer.version_id == v2.pk
    assert logged_in_api.get(f"/api/v1/courses/{tiny.course.slug}/").json()["version"] == 1
    v2_lesson = Lesson.objects.filter(module__version=v2).first()
    assert logged_in_api.post(f"/api/v1/lessons/{v2_lesson.pk}/complete/").status_code == 404


def test_self_enroll_is_refused_on_a_course_that_is_not_open(tmp_path, user, logged_in_api):
    closed = load_tiny(tmp_path, slug="closed-course", open_enrollment=False)
    with pytest.raises(services.EnrollmentRefused):
        services.self_enroll(user=user, course=closed.course)
    response = logged_in_api.post("/api/v1/courses/closed-course/enroll/")
    assert response.status_code == 409 and response.json()["code"] == "enrollment_refused"
    assert not Enrollment.objects.exists()
    assert logged_in_api.get("/api/v1/courses/").json() == {"results": []}
    # an assigned learner may still "self-enrol": they get their enrollment back
    enrol(user, closed.course)
    assert logged_in_api.post("/api/v1/courses/closed-course/enroll/").status_code == 200


def test_self_enroll_on_an_open_course(tiny, user, logged_in_api):
    created = logged_in_api.post(f"/api/v1/courses/{tiny.course.slug}/enroll/")
    assert created.status_code == 201 and created.json()["status"] == "not_started"
    assert logged_in_api.post(f"/api/v1/courses/{tiny.course.slug}/enroll/").status_code == 200
    assert Enrollment.objects.get().source == Enrollment.Source.SELF


# --- course API -----------------------------------------------------------------------------------

PROGRESS_KEYS = {
    "status",
    "percent",
    "lessons_read",
    "lessons_total",
    "quizzes_passed",
    "quizzes_total",
    "complete",
    "due_date",
    "overdue",
    "completed_at",
    "cycle",
    "version",
}


def test_course_list_shows_assigned_and_open_courses_with_progress(tiny, tmp_path, user, logged_in_api):
    load_tiny(tmp_path / "open", slug="open-course")
    load_tiny(tmp_path / "closed", slug="closed-course", open_enrollment=False)
    enrol(user, tiny.course)
    services.complete_lesson(user=user, lesson_id=lesson_ids(tiny.modules[0])[0])
    results = logged_in_api.get("/api/v1/courses/").json()["results"]
    by_slug = {r["slug"]: r for r in results}
    assert set(by_slug) == {tiny.course.slug, "open-course"}
    assert set(by_slug[tiny.course.slug]["progress"]) == PROGRESS_KEYS
    assert by_slug[tiny.course.slug]["progress"]["lessons_read"] == 1
    assert (
        by_slug[tiny.course.slug]["enrolled"] is True
        and by_slug[tiny.course.slug]["medically_reviewed"] is True
    )
    assert by_slug["open-course"]["enrolled"] is False and by_slug["open-course"]["progress"] is None


def test_course_detail_shape_and_404_for_not_enrolled_like_unknown(tiny, user, logged_in_api):
    not_enrolled = logged_in_api.get(f"/api/v1/courses/{tiny.course.slug}/")
    unknown = logged_in_api.get("/api/v1/courses/no-such-course/")
    assert not_enrolled.status_code == unknown.status_code == 404
    assert not_enrolled.json() == unknown.json()
    enrol(user, tiny.course)
    services.complete_lesson(user=user, lesson_id=lesson_ids(tiny.modules[0])[1])
    body = logged_in_api.get(f"/api/v1/courses/{tiny.course.slug}/").json()
    assert body["version"] == 1 and body["medical_reviewer"] == "Dr Test Reviewer"
    assert set(body["progress"]) == PROGRESS_KEYS
    assert [m["key"] for m in body["modules"]] == ["ma", "mb"]
    lessons = body["modules"][0]["lessons"]
    assert [set(lesson) for lesson in lessons] == [{"id", "title", "minutes", "read"}] * 2
    assert [lesson["read"] for lesson in lessons] == [False, True]
    quiz = body["modules"][0]["quiz"]
    assert {"id", "title", "state"} <= set(quiz) and quiz["id"] == tiny.modules[0].quiz_id
    assert quiz["state"] == "locked"
    assert body["final_exam"]["id"] == tiny.version.final_exam_id and body["final_exam"]["state"] == "locked"


def test_my_progress_shape(tiny, user, logged_in_api):
    assert logged_in_api.get("/api/v1/me/progress/").json() == {"results": []}
    enrol(user, tiny.course)
    for lesson in lesson_ids(tiny.modules[0]):
        services.complete_lesson(user=user, lesson_id=lesson)
    take_quiz(user, tiny.modules[0].quiz, tiny.specs)
    (row,) = logged_in_api.get("/api/v1/me/progress/").json()["results"]
    assert set(row) == {
        "course",
        "title",
        "ce_hours",
        "lesson_minutes_recorded",
        "progress",
        "next_quiz",
        "quizzes",
    }
    assert row["course"] == tiny.course.slug and row["ce_hours"] == "1.50"
    assert set(row["progress"]) == PROGRESS_KEYS and row["progress"]["quizzes_passed"] == 1
    (quiz,) = row["quizzes"]
    assert set(quiz) == {"quiz_id", "title", "best_score", "passed", "submitted_at"}
    assert (
        quiz["quiz_id"] == tiny.modules[0].quiz_id
        and quiz["best_score"] == "100.00"
        and quiz["passed"] is True
    )


def test_course_endpoints_need_authentication(tiny, api_client):
    for url in ("/api/v1/courses/", f"/api/v1/courses/{tiny.course.slug}/", "/api/v1/me/progress/"):
        assert api_client.get(url).status_code in (401, 403)


def test_submitting_through_the_api_updates_the_enrollment_progress(tiny, user, logged_in_api):
    enrollment = enrol(user, tiny.course)
    module = tiny.modules[0]
    for lesson in lesson_ids(module):
        services.complete_lesson(user=user, lesson_id=lesson)
    attempt = logged_in_api.post(f"/api/v1/quizzes/{module.quiz_id}/attempts/").json()
    keys = dict(Question.objects.values_list("pk", "key"))
    for item in flat_payloads(attempt):
        body = correct_response(item, tiny.specs[keys[item["id"]]])
        saved = logged_in_api.put(
            f"/api/v1/attempts/{attempt['id']}/answers/{item['id']}/", body, format="json"
        )
        assert saved.status_code == 200, saved.json()
    submitted = logged_in_api.post(f"/api/v1/attempts/{attempt['id']}/submit/").json()
    assert submitted["passed"] is True and submitted["graded_now"] is True
    enrollment.refresh_from_db()
    assert enrollment.quizzes_passed == 1 and enrollment.progress_percent == (2 + 1) * 100 // 7
    assert_stored_matches_recomputed(enrollment)
    repeat = logged_in_api.post(f"/api/v1/attempts/{attempt['id']}/submit/").json()
    assert repeat["graded_now"] is False and repeat["score"] == submitted["score"]
    detail = logged_in_api.get(f"/api/v1/courses/{tiny.course.slug}/").json()
    assert detail["modules"][0]["quiz"]["state"] == "passed" and detail["progress"]["quizzes_passed"] == 1


def test_the_expiry_path_updates_progress(tmp_path, learner, clock):
    tiny = load_tiny(tmp_path, quiz={"time_limit_minutes": 1})
    enrollment = enrol(learner, tiny.course)
    module = tiny.modules[0]
    for lesson in lesson_ids(module):
        services.complete_lesson(user=learner, lesson_id=lesson)
    attempt, _ = services.start_quiz_attempt(user=learner, quiz=module.quiz)
    answer_attempt(attempt, learner, tiny.specs)
    clock.advance(seconds=65)  # past the deadline, inside the grace: not yet expired
    assert services.expire_overdue_attempts() == 0
    clock.advance(minutes=2)
    assert services.expire_overdue_attempts() == 1
    attempt.refresh_from_db()
    assert attempt.closed_by == Attempt.Closure.DEADLINE and attempt.passed is True
    enrollment.refresh_from_db()
    assert enrollment.quizzes_passed == 1 and enrollment.last_activity_at == clock.now
    assert_stored_matches_recomputed(enrollment)
    assert services.expire_overdue_attempts() == 0  # idempotent


def test_a_save_after_the_deadline_grades_the_attempt_and_updates_progress(tmp_path, learner, clock):
    tiny = load_tiny(tmp_path, quiz={"time_limit_minutes": 1})
    enrollment = enrol(learner, tiny.course)
    module = tiny.modules[0]
    for lesson in lesson_ids(module):
        services.complete_lesson(user=learner, lesson_id=lesson)
    attempt, _ = services.start_quiz_attempt(user=learner, quiz=module.quiz)
    answer_attempt(attempt, learner, tiny.specs)
    clock.advance(minutes=5)
    first_item = next(iter(attempt.layout["items"]))
    with pytest.raises(DeadlinePassed):
        services.save_quiz_answer(attempt_id=attempt.pk, user=learner, question_id=first_item, response={})
    attempt.refresh_from_db()
    assert not attempt.is_open and attempt.passed is True
    enrollment.refresh_from_db()
    assert enrollment.quizzes_passed == 1
    assert_stored_matches_recomputed(enrollment)


def test_attempts_of_an_earlier_cycle_do_not_use_up_a_new_cycles_attempt_limit(tiny, learner, clock):
    from quizzes.errors import AttemptLimitReached
    from quizzes.models import Quiz

    enrol(learner, tiny.course)
    complete_course(learner, tiny.version, tiny.specs)
    final = tiny.version.final_exam
    Quiz.objects.filter(pk=final.pk).update(attempt_limit=1, cooldown_minutes=600)
    final.refresh_from_db()
    with pytest.raises(AttemptLimitReached):
        services.start_quiz_attempt(user=learner, quiz=final)
    clock.advance(days=365)
    services.enroll(user=learner, course=tiny.course, source=Enrollment.Source.RECERTIFICATION)
    read_all_lessons(learner, tiny.version)
    attempt, created = services.start_quiz_attempt(user=learner, quiz=final)
    assert created and attempt.number == 2
