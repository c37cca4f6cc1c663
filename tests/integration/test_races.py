"""Races on PostgreSQL: 8 threads released together by a barrier, each on its own connection.

Every test names, in its docstring, the lock it depends on and what was observed when that
`select_for_update` was removed from quizzes/services.py (the database constraints stay in place).
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from quizzes import services
from quizzes.errors import AttemptClosed
from quizzes.models import Answer, Attempt, AttemptState
from tests.concurrency import run_together
from tests.factories import UserFactory
from tests.quiz_content import correct_response, make_quiz
from tests.quiz_helpers import answer_all, payloads_by_key, single_choice_bank

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8
BANK = single_choice_bank("race", THREADS - 1)
SPECS = {spec["key"]: spec for spec in BANK}


def _quiz(**settings):
    return make_quiz(key="race", bank_key="race", questions=BANK, **settings)


def test_parallel_starts_create_one_attempt():
    """Lock: `start_attempt` locks the user's row before looking for an open attempt.

    Without it (the user lock removed, with or without the open-attempt `select_for_update`, which locks
    nothing when no row exists yet), every thread finds no open attempt and inserts one: the constraints
    let one insert through and, in every run observed, the other 7 threads failed with IntegrityError
    (attempt_user_quiz_number_unique or attempt_one_in_progress_per_user_quiz): parallel clicks get
    500s instead of their attempt."""
    quiz = _quiz()
    user = UserFactory()
    results, errors = run_together(*[lambda: services.start_attempt(user=user, quiz=quiz)] * THREADS)
    assert [repr(e) for e in errors if e is not None] == []
    assert len({attempt.pk for attempt, _ in results}) == 1
    assert sorted(created for _, created in results) == [False] * (THREADS - 1) + [True]
    assert Attempt.objects.filter(user=user, quiz=quiz).count() == 1


@pytest.mark.parametrize("answered", [3, 7], ids=["partly-answered", "fully-answered"])
def test_parallel_submits_grade_once_and_agree(answered):
    """Lock: `submit_attempt` locks the attempt row (`_lock_own_attempt`) before checking its state.

    Without it, several threads see the attempt in progress and each grades it. Partly answered: the
    graders race to insert the unanswered items' Answer rows and fail with IntegrityError
    (answer_attempt_question_unique; 4-7 threads observed), while 1-4 others still report graded_now.
    Fully answered (nothing to insert): 7 or 8 of the 8 threads returned graded_now=True, so one result
    would be graded, audited and certified up to eight times."""
    quiz = _quiz()
    user = UserFactory()
    attempt, _ = services.start_attempt(user=user, quiz=quiz)
    payloads = payloads_by_key(attempt)
    for key in sorted(SPECS)[:answered]:  # these right, the rest unanswered
        body = correct_response(payloads[key], SPECS[key])
        services.save_answer(attempt_id=attempt.pk, user=user, question_id=payloads[key]["id"], response=body)

    results, errors = run_together(
        *[lambda: services.submit_attempt(attempt_id=attempt.pk, user=user)] * THREADS
    )
    failures = [repr(e) for e in errors if e is not None]
    graded_now = sum(1 for outcome in results if outcome is not None and outcome.graded_now)
    assert (failures, graded_now) == ([], 1)
    score = (Decimal(answered * 100) / len(BANK)).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
    expected = (score, answered == len(BANK), AttemptState.SUBMITTED)
    assert {(o.attempt.score, o.attempt.passed, o.attempt.state) for o in results} == {expected}
    assert len({o.attempt.submitted_at for o in results}) == 1
    stored = Attempt.objects.get(pk=attempt.pk)
    assert (stored.score, stored.passed, stored.state) == expected
    assert Answer.objects.filter(attempt=attempt).count() == len(BANK)
    assert Answer.objects.filter(attempt=attempt, points=1).count() == answered


ROUNDS = 3


def test_a_save_racing_a_submit_lands_before_grading_or_is_refused():
    """Lock: `submit_attempt` locks the attempt row FOR UPDATE and `save_answer`'s single upsert takes it
    FOR KEY SHARE (`_upsert_open_answer`), so a save either commits before grading reads the answers,
    or waits and then, re-checking the row, finds the attempt submitted (AttemptClosed).

    Each round: seven answers are saved wrong first, then seven threads save the right answers while an
    eighth submits. A save that returned must be graded as the right answer (points 1); a refused one
    must have left the wrong answer (points 0). Without the lock (the upsert's FOR KEY SHARE removed,
    2026-12-02), saves commit while grading runs: they return success, yet the right response is stored
    next to the stale 0 points of the wrong one ("lost silently"): all 7 saves of the first round. (With
    the earlier row lock, `_lock_own_attempt` without `select_for_update`: 4-6 of 7.)"""
    quiz = _quiz()
    for _ in range(ROUNDS):
        user = UserFactory()
        attempt, _ = services.start_attempt(user=user, quiz=quiz)
        answer_all(attempt, user, wrong=frozenset(SPECS), specs=SPECS)
        payloads = payloads_by_key(attempt)
        right = {key: correct_response(payloads[key], SPECS[key]) for key in SPECS}
        keys = sorted(SPECS)

        def save(key, user=user, attempt=attempt, payloads=payloads, right=right):
            return lambda: services.save_answer(
                attempt_id=attempt.pk, user=user, question_id=payloads[key]["id"], response=right[key]
            )

        def submit(user=user, attempt=attempt):
            return lambda: services.submit_attempt(attempt_id=attempt.pk, user=user)

        results, errors = run_together(*[save(key) for key in keys], submit())
        assert errors[-1] is None and results[-1].graded_now
        graded = {a.question_id: a for a in Answer.objects.filter(attempt=attempt).select_related("question")}
        assert len(graded) == len(keys)
        problems = []
        for i, key in enumerate(keys):
            stored = graded[payloads[key]["id"]]
            if errors[i] is None and stored.points != 1:
                problems.append(f"{key}: saved (no error), yet graded {stored.points}: lost silently")
            elif errors[i] is not None and not isinstance(errors[i], AttemptClosed):
                problems.append(f"{key}: {errors[i]!r}")
            elif errors[i] is not None and stored.points != 0:
                problems.append(f"{key}: refused, yet graded {stored.points}")
        assert problems == []
        attempt.refresh_from_db()
        assert attempt.score == Decimal(sum(1 for e in errors[:-1] if e is None) * 100 / len(keys)).quantize(
            Decimal("0.01"), rounding="ROUND_DOWN"
        )


def test_page_autosaves_racing_the_page_submit_land_before_grading_or_are_refused():
    """The same race through the attempt page (issue 25): seven htmx autosaves (session, CSRF-exempt test
    client, the form body the page sends) race the page's submit button. A save answered 200 ("Saved")
    must be graded right; one answered 409 ("already been submitted") must have left the wrong answer.
    The page shares the API's save path (`save_answer` with a form reader), so the lock is the same
    FOR KEY SHARE / FOR UPDATE pair as above; without the FOR KEY SHARE, 2 of the 7 page saves of the
    first round answered "Saved" and were graded 0 (lost silently)."""
    from django.test import Client

    quiz = _quiz()
    for _ in range(ROUNDS):
        user = UserFactory()
        attempt, _ = services.start_attempt(user=user, quiz=quiz)
        answer_all(attempt, user, wrong=frozenset(SPECS), specs=SPECS)
        payloads = payloads_by_key(attempt)
        keys = sorted(SPECS)
        clients = []
        for _key in [*keys, "submit"]:
            client = Client()
            client.force_login(user)
            clients.append(client)

        def save(i, key, attempt=attempt, payloads=payloads):
            qid = payloads[key]["id"]
            pick = correct_response(payloads[key], SPECS[key])["choice_ids"][0]
            form = {"question": str(qid), f"q-{qid}": pick}
            return lambda: clients[i].post(f"/attempts/{attempt.pk}/autosave/", form, HTTP_HX_REQUEST="true")

        def submit(attempt=attempt):
            return lambda: clients[-1].post(f"/attempts/{attempt.pk}/submit/")

        results, errors = run_together(*[save(i, key) for i, key in enumerate(keys)], submit())
        assert [repr(e) for e in errors if e is not None] == []
        assert results[-1].status_code == 302 and results[-1]["Location"] == f"/attempts/{attempt.pk}/result/"
        graded = {a.question_id: a for a in Answer.objects.filter(attempt=attempt)}
        problems = []
        for i, key in enumerate(keys):
            stored, reply = graded[payloads[key]["id"]], results[i]
            text = reply.content.decode()
            if reply.status_code == 200 and "Saved" in text and stored.points != 1:
                problems.append(f"{key}: saved, yet graded {stored.points}: lost silently")
            elif reply.status_code == 409 and ("already been submitted" not in text or stored.points != 0):
                problems.append(f"{key}: refused ({text}), graded {stored.points}")
            elif reply.status_code not in (200, 409):
                problems.append(f"{key}: {reply.status_code} {text[:200]}")
        assert problems == []
        attempt.refresh_from_db()
        saved = sum(1 for r in results[:-1] if r.status_code == 200)
        assert attempt.score == Decimal(saved * 100 / len(keys)).quantize(
            Decimal("0.01"), rounding="ROUND_DOWN"
        )


@pytest.mark.parametrize("answered", [1, 7], ids=["partly-answered", "fully-answered"])
def test_the_deadline_sweeper_racing_a_submit_grades_once(answered):
    """Locks: `expire_attempt` takes the attempt row with `select_for_update(skip_locked=True)` and
    `submit_attempt` with `select_for_update`; whoever holds the row grades, the others do nothing.

    Four sweepers (`expire_attempt`) and four learner submits, all past the deadline plus grace.
    Without the lock in `expire_attempt`, sweepers read the attempt as still open while a submit (or
    another sweeper) is grading it and grade it again: partly answered, the second grader's insert of
    the unanswered items fails with IntegrityError (answer_attempt_question_unique; 2-7 threads) and
    sometimes PostgreSQL reports "deadlock detected"; fully answered, 4-5 outcomes came back
    graded_now=True, often alongside a deadlock error."""
    quiz = _quiz(time_limit_minutes=5)
    user = UserFactory()
    started = timezone.now() - timedelta(minutes=10)
    attempt, _ = services.start_attempt(user=user, quiz=quiz, now=started)
    payloads = payloads_by_key(attempt)
    for key in sorted(SPECS)[:answered]:
        body = correct_response(payloads[key], SPECS[key])
        services.save_answer(
            attempt_id=attempt.pk, user=user, question_id=payloads[key]["id"], response=body, now=started
        )
    now = timezone.now()
    sweepers = [lambda: services.expire_attempt(attempt_id=attempt.pk, now=now)] * (THREADS // 2)
    submits = [lambda: services.submit_attempt(attempt_id=attempt.pk, user=user, now=now)] * (THREADS // 2)
    results, errors = run_together(*[job for pair in zip(sweepers, submits, strict=True) for job in pair])
    failures = [repr(e) for e in errors if e is not None]
    graded_now = sum(1 for outcome in results if outcome is not None and outcome.graded_now)
    assert (failures, graded_now) == ([], 1)
    stored = Attempt.objects.get(pk=attempt.pk)
    assert (stored.state, stored.closed_by, stored.submitted_at) == (AttemptState.SUBMITTED, "deadline", now)
    score = (Decimal(answered * 100) / len(BANK)).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
    assert stored.score == score
    assert Answer.objects.filter(attempt=attempt).count() == len(BANK)
    assert Answer.objects.filter(attempt=attempt, points=1).count() == answered
