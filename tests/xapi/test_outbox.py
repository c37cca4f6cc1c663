"""xAPI statements are written to the outbox in the transaction of the event they report, with the
right verbs, actor, context and results, never an answer key, and stable ids; nothing at all when no
LRS is configured. (Sending to a real LRS: test_lrs_ralph.py.)"""

import uuid

import pytest
from django.db import transaction

from courses.certificates import services as certificates
from courses.enrollment import services
from courses.models import Enrollment, Lesson
from tests.certificate_helpers import evaluate
from tests.course_helpers import answer_attempt, course_quizzes, read_all_lessons, take_quiz
from xapi import outbox
from xapi import statements as xs
from xapi.config import current
from xapi.models import OutboxStatement

pytestmark = pytest.mark.django_db


def verbs():
    return sorted(OutboxStatement.objects.values_list("verb", flat=True))


def payloads(verb: str) -> list[dict]:
    return [row.payload for row in OutboxStatement.objects.filter(verb=verb).order_by("pk")]


def finish_course(tiny, learner, enrollment):
    read_all_lessons(learner, tiny.version)
    attempts = [take_quiz(learner, quiz, tiny.specs) for quiz in course_quizzes(tiny.version)]
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.COMPLETED
    evaluate(enrollment)
    outcome = certificates.issue_certificate(enrollment_id=enrollment.pk)
    assert outcome.created
    return attempts, outcome.certificate


def test_off_when_not_configured_writes_nothing_and_costs_no_query(
    tiny, learner, enrollment, django_assert_num_queries
):
    attempts, certificate = finish_course(tiny, learner, enrollment)
    assert OutboxStatement.objects.count() == 0
    with django_assert_num_queries(0):
        outbox.quiz_attempted(attempt=attempts[0])
        outbox.attempt_graded(attempt=attempts[0])
        outbox.course_completed(enrollment=enrollment)
        outbox.certificate_earned(certificate=certificate)


def test_a_course_from_first_lesson_to_certificate(xapi_on, tiny, learner, enrollment):
    attempts, certificate = finish_course(tiny, learner, enrollment)
    lessons = Lesson.objects.filter(module__version=tiny.version).count()
    answered_items = sum(a.answers.exclude(response={}).count() for a in attempts)
    assert verbs().count("experienced") == lessons
    assert verbs().count("attempted") == len(attempts) == 3
    assert verbs().count("passed") == 3 and "failed" not in verbs()
    assert verbs().count("answered") == answered_items > 0
    assert verbs().count("completed") == 1
    assert verbs().count("earned") == 1

    cfg = current()
    registration = xs.registration(cfg, enrollment.pk)
    for body in OutboxStatement.objects.values_list("payload", flat=True):
        assert body["version"] == "1.0.3"
        uuid.UUID(body["id"])
        # The account is the configured homePage and the employee id; no email anywhere.
        assert body["actor"] == {
            "objectType": "Agent",
            "account": {"homePage": "https://hr.example.org", "name": "E-4711"},
        }
        assert "mbox" not in str(body) and learner.email not in str(body)
        assert body["verb"]["id"] == xs.VERBS[body["verb"]["display"]["en-US"]]
        assert body["object"]["id"].startswith("https://training.example.org/xapi/activities/")
        context = body["context"]
        assert context["registration"] == registration
        assert context["revision"] == str(tiny.version.number)
        assert context["extensions"]["https://training.example.org/xapi/extensions/course-version"] == (
            tiny.version.number
        )
        assert context["contextActivities"]["grouping"] == [
            {"id": f"https://training.example.org/xapi/activities/course/{tiny.course.slug}"}
        ]

    final = attempts[-1]
    (graded,) = [p for p in payloads("passed") if p["object"]["id"].endswith(f"/quiz/{final.quiz.key}")]
    assert graded["result"]["success"] is True and graded["result"]["completion"] is True
    assert graded["result"]["score"] == {
        "scaled": float(final.score) / 100,
        "raw": float(final.points),
        "min": 0,
        "max": final.max_points,
    }
    earned = payloads("earned")[0]
    assert (
        earned["result"]["extensions"]["https://training.example.org/xapi/extensions/certificate-number"]
        == certificate.number
    )


def test_question_answered_never_carries_a_key_and_marks_follow_the_review_rule(
    xapi_on, tiny, learner, enrollment
):
    read_all_lessons(learner, tiny.version)
    module_quiz, final_exam = tiny.modules[0].quiz, tiny.version.final_exam
    for quiz in tiny.modules:
        take_quiz(learner, quiz.quiz, tiny.specs)
    attempt, _ = services.start_quiz_attempt(user=learner, quiz=final_exam)
    answer_attempt(attempt, learner, tiny.specs)
    # Started and answered, not submitted: "attempted" only, nothing about the answers yet.
    assert {v for v in verbs() if v != "experienced"} == {"attempted", "answered", "passed"}
    open_attempt_rows = [
        p
        for p in payloads("answered")
        if p["context"]["contextActivities"]["parent"][0]["id"].endswith(final_exam.key)
    ]
    assert open_attempt_rows == []
    services.submit_quiz_attempt(attempt_id=attempt.pk, user=learner)

    for body in payloads("answered"):
        definition = body["object"]["definition"]
        assert "correctResponsesPattern" not in definition and "choices" not in definition
        assert definition["type"] == "http://adlnet.gov/expapi/activities/cmi.interaction"
        assert body["result"]["response"]
        quiz_id = body["context"]["contextActivities"]["parent"][0]["id"]
        if quiz_id.endswith(f"/quiz/{final_exam.key}"):
            # Certifying exam: reviewed by objective only, so no per-item success or score leaves either.
            assert set(body["result"]) == {"response"}
        elif quiz_id.endswith(f"/quiz/{module_quiz.key}"):
            assert body["result"]["success"] is True and body["result"]["score"] == {"scaled": 1.0}


def test_a_rolled_back_grading_leaves_no_statement(xapi_on, tiny, learner, enrollment):
    read_all_lessons(learner, tiny.version)
    quiz = tiny.modules[0].quiz
    attempt, _ = services.start_quiz_attempt(user=learner, quiz=quiz)
    answer_attempt(attempt, learner, tiny.specs)
    before = OutboxStatement.objects.count()

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        services.submit_quiz_attempt(attempt_id=attempt.pk, user=learner)
        assert OutboxStatement.objects.filter(verb="passed").exists()  # written with the grading...
        raise Boom
    assert OutboxStatement.objects.count() == before  # ...and gone with it
    services.submit_quiz_attempt(attempt_id=attempt.pk, user=learner)
    assert OutboxStatement.objects.filter(verb="passed").count() == 1


def test_statement_ids_are_stable_so_a_second_recording_adds_nothing(xapi_on, tiny, learner, enrollment):
    read_all_lessons(learner, tiny.version)
    attempt = take_quiz(learner, tiny.modules[0].quiz, tiny.specs)
    rows = dict(OutboxStatement.objects.values_list("statement_id", "verb"))
    outbox.quiz_attempted(attempt=attempt)
    outbox.attempt_graded(attempt=attempt)
    outbox.quiz_attempted(attempt=attempt)
    assert OutboxStatement.objects.count() == len(rows)
    cfg = current()
    assert uuid.UUID(xs.statement_id(cfg, "attempt-graded", attempt.pk)) in rows
    assert rows[uuid.UUID(xs.statement_id(cfg, "quiz-attempted", attempt.pk))] == "attempted"


def test_email_identifies_the_actor_only_when_configured(xapi_on, tiny, learner, enrollment):
    xapi_on.XAPI_ACTOR_EMAIL = True
    read_all_lessons(learner, tiny.version)
    actors = [p["actor"] for p in payloads("experienced")]
    assert actors and all(a == {"objectType": "Agent", "mbox": f"mailto:{learner.email}"} for a in actors)


def test_a_revoked_certificate_voids_its_earned_statement(xapi_on, tiny, learner, enrollment):
    from accounts.models import Role
    from tests.factories import UserFactory

    _, certificate = finish_course(tiny, learner, enrollment)
    admin = UserFactory(role=Role.ADMIN, employee_id="E-0001")
    certificates.revoke_certificate(certificate_id=certificate.pk, by=admin, reason="Issued in error")
    certificates.revoke_certificate(certificate_id=certificate.pk, by=admin, reason="Twice")  # no-op
    (earned,) = payloads("earned")
    (voiding,) = payloads("voided")
    assert voiding["object"] == {"objectType": "StatementRef", "id": earned["id"]}
    assert voiding["verb"]["id"] == "http://adlnet.gov/expapi/verbs/voided"
    assert voiding["actor"]["account"]["name"] == "E-0001"  # whoever revoked it


def test_a_grading_costs_the_outbox_a_fixed_number_of_queries(
    xapi_on, tiny, learner, enrollment, django_assert_num_queries
):
    from quizzes.models import Attempt

    read_all_lessons(learner, tiny.version)
    graded = take_quiz(learner, tiny.modules[0].quiz, tiny.specs)
    OutboxStatement.objects.all().delete()
    attempt = Attempt.objects.get(pk=graded.pk)
    fresh = Enrollment.objects.select_related("version").get(pk=enrollment.pk)
    # user, quiz, answers with their questions, the version's course, one insert: whatever the item count
    with django_assert_num_queries(5):
        outbox.attempt_graded(attempt=attempt, enrollment=fresh)
    assert (
        OutboxStatement.objects.filter(verb="answered").count()
        == attempt.answers.exclude(response={}).count()
        > 3
    )


def test_the_outbox_command_shows_and_sends(xapi_on, tiny, learner, enrollment, capsys):
    from django.core.management import call_command

    read_all_lessons(learner, tiny.version)
    call_command("xapi_outbox", "--send")  # nothing listens on the endpoint: kept, error shown
    out, err = capsys.readouterr()
    assert "pending: 4" in out and "ConnectionError" in out and "did not take them" in err
