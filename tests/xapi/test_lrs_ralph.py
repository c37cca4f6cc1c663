"""Against a real learning record store: Ralph's LRS server (file-system backend) in its own virtual
environment, a separate process on loopback (tests/xapi/lrs.py). Statements are accepted and read
back with the right verbs and results; the LRS stopped mid-run and restarted loses nothing and
duplicates nothing."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from courses.certificates import services as certificates
from courses.models import Enrollment, Lesson
from tests.certificate_helpers import evaluate
from tests.course_helpers import course_quizzes, read_all_lessons, take_quiz
from tests.xapi.lrs import USERNAME, RalphLRS
from xapi import sender
from xapi import statements as xs
from xapi.config import current
from xapi.models import OutboxStatement

pytestmark = [pytest.mark.lrs, pytest.mark.django_db]


def in_lrs(ralph: RalphLRS, enrollment) -> list[dict]:
    registration = xs.registration(current(), enrollment.pk)
    return [s for s in ralph.statements() if s.get("context", {}).get("registration") == registration]


def outbox_ids() -> set[str]:
    return {str(i) for i in OutboxStatement.objects.values_list("statement_id", flat=True)}


def later() -> timezone.datetime:
    """The beat sweep once the backoff window has passed."""
    return timezone.now() + timedelta(hours=1)


def test_statements_are_accepted_and_read_back_with_verbs_and_results(
    to_ralph, tiny, learner, enrollment, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # the send task runs after each commit
        read_all_lessons(learner, tiny.version)
        attempts = [take_quiz(learner, quiz, tiny.specs) for quiz in course_quizzes(tiny.version)]
        enrollment.refresh_from_db()
        assert enrollment.status == Enrollment.Status.COMPLETED
        evaluate(enrollment)
        assert certificates.issue_certificate(enrollment_id=enrollment.pk).created

    assert set(OutboxStatement.objects.values_list("status", flat=True)) == {"sent"}
    stored = in_lrs(to_ralph, enrollment)
    assert {s["id"] for s in stored} == outbox_ids()
    verbs = Counter(s["verb"]["id"].rsplit("/", 1)[1] for s in stored)
    assert verbs["experienced"] == Lesson.objects.filter(module__version=tiny.version).count()
    assert verbs["attempted"] == verbs["passed"] == len(attempts) == 3
    assert verbs["completed"] == verbs["earned"] == 1 and verbs["failed"] == 0
    assert verbs["answered"] == sum(a.answers.exclude(response={}).count() for a in attempts)
    for statement in stored:
        assert statement["actor"]["account"] == {"homePage": "https://hr.example.org", "name": "E-4711"}
        assert statement["authority"]["account"]["name"] == USERNAME  # stored by the LRS, as itself
        assert "correctResponsesPattern" not in str(statement)
    final = attempts[-1]
    (graded,) = [
        s for s in stored if s["verb"]["id"].endswith("/passed") and final.quiz.key in s["object"]["id"]
    ]
    assert graded["result"]["success"] is True
    assert graded["result"]["score"]["scaled"] == pytest.approx(float(final.score) / 100)
    assert graded["result"]["score"]["max"] == final.max_points
    assert graded["context"]["revision"] == str(tiny.version.number)
    final_items = [
        s for s in stored if s["verb"]["id"].endswith("/answered") and final.quiz.key in str(s["context"])
    ]
    assert final_items and all(set(s["result"]) == {"response"} for s in final_items)  # certifying: no marks

    # A revoked certificate: its `earned` statement is voided, and the LRS takes the voiding statement.
    certificate = enrollment.certificates.get()
    with django_capture_on_commit_callbacks(execute=True):
        certificates.revoke_certificate(certificate_id=certificate.pk, by=learner, reason="Issued in error")
    voiding = OutboxStatement.objects.get(verb="voided")
    assert voiding.status == "sent", voiding.last_error
    (earned,) = [s for s in stored if s["verb"]["id"].endswith("/earned")]
    (voided,) = [s for s in to_ralph.statements() if s["id"] == str(voiding.statement_id)]
    assert voided["object"] == {"objectType": "StatementRef", "id": earned["id"]}


def test_lrs_stopped_mid_run_and_restarted_loses_nothing_and_duplicates_nothing(
    to_ralph, tiny, learner, enrollment, django_capture_on_commit_callbacks
):
    quizzes = course_quizzes(tiny.version)
    with django_capture_on_commit_callbacks(execute=True):
        read_all_lessons(learner, tiny.version)
        take_quiz(learner, quizzes[0], tiny.specs)
    sent_before_the_outage = outbox_ids()
    assert {s["id"] for s in in_lrs(to_ralph, enrollment)} == sent_before_the_outage

    to_ralph.stop()
    with django_capture_on_commit_callbacks(execute=True):  # events go on while the LRS is down
        for quiz in quizzes[1:]:
            take_quiz(learner, quiz, tiny.specs)
    pending = OutboxStatement.objects.filter(status="pending")
    assert pending.count() == len(outbox_ids() - sent_before_the_outage) > 0
    assert pending.filter(send_attempts__gte=1).exists()  # tried, refused, kept
    assert sender.send_pending().waiting  # the circuit holds further tries until the backoff passes
    # A worker killed after the LRS stored a batch but before marking it: those rows are pending again.
    OutboxStatement.objects.filter(statement_id__in=list(sent_before_the_outage)[:5]).update(status="pending")

    to_ralph.start()
    report = sender.send_pending(now=later())
    assert (
        not report.failed and report.sent == OutboxStatement.objects.count() - len(sent_before_the_outage) + 5
    )
    assert not OutboxStatement.objects.exclude(status="sent").exists()

    # Nothing lost, nothing duplicated: every statement once, in the LRS's answers and in its storage.
    ids = [s["id"] for s in in_lrs(to_ralph, enrollment)]
    assert sorted(ids) == sorted(outbox_ids())
    stored = Counter(to_ralph.stored_ids())
    assert all(stored[i] == 1 for i in outbox_ids())


def test_a_statement_the_lrs_refuses_is_set_aside_and_the_rest_go_through(
    to_ralph, tiny, learner, enrollment
):
    read_all_lessons(learner, tiny.version)  # on_commit not run: the rows wait in the outbox
    rows = list(OutboxStatement.objects.order_by("pk"))
    broken = rows[2]
    del broken.payload["actor"]  # a statement without an actor: invalid xAPI
    broken.save(update_fields=["payload"])

    report = sender.send_pending()
    assert report.rejected == 1 and report.sent == len(rows) - 1
    broken.refresh_from_db()
    assert broken.status == "rejected" and "HTTP 422" in broken.last_error and "actor" in broken.last_error
    assert {s["id"] for s in in_lrs(to_ralph, enrollment)} == outbox_ids() - {str(broken.statement_id)}
    assert not sender.send_pending().sent  # set aside, never retried
