"""Item statistics: pure computation on hand-computed data, and the selector (first attempts only)."""

import math

import pytest
from celery import current_app

from quizzes import services, statistics
from quizzes.models import Choice, Question
from quizzes.statistics import ItemStats, compute_item_stats, flags_for, objective_mastery, pearson
from tests.factories import UserFactory
from tests.quiz_content import make_quiz
from tests.quiz_helpers import payloads_by_key, single_choice_bank

# attempt -> total; the items' scores below add up to these totals
#            q1 q2 q3  total
#   a1        1  1  1    3
#   a2        1  1  0    2
#   a3        1  0  1    2
#   a4        0  0  1    1
#   a5        0  0  0    0
TOTALS = {1: 3.0, 2: 2.0, 3: 2.0, 4: 1.0, 5: 0.0}
ITEMS = {
    "q1": {1: 1.0, 2: 1.0, 3: 1.0, 4: 0.0, 5: 0.0},
    "q2": {1: 1.0, 2: 1.0, 3: 0.0, 4: 0.0, 5: 0.0},
    "q3": {1: 1.0, 2: 0.0, 3: 1.0, 4: 1.0, 5: 0.0},
}


def test_pearson_by_hand():
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    # x = [1,1,0,0], y = [2,1,1,0]: sxy = 1, sxx = 1, syy = 2
    assert pearson([1, 1, 0, 0], [2, 1, 1, 0]) == pytest.approx(1 / math.sqrt(2))


@pytest.mark.parametrize(
    ("xs", "ys"), [([1, 0], [0, 1]), ([], []), ([1, 1, 1], [0, 1, 2]), ([0, 1, 2], [5, 5, 5])]
)
def test_pearson_is_none_when_undefined(xs, ys):
    assert pearson(xs, ys) is None


def test_compute_item_stats_by_hand():
    stats = compute_item_stats(TOTALS, ITEMS)
    assert set(stats) == {"q1", "q2", "q3"}
    # q1: x=[1,1,1,0,0], rest=[2,1,1,1,0]: sxx=1.2, syy=2, sxy=1
    assert stats["q1"] == {
        "responses": 5,
        "facility": pytest.approx(0.6),
        "discrimination_corrected": pytest.approx(1 / math.sqrt(2.4)),
        # 27% of 5 rounds to 1: upper group {a1}, lower group {a5}
        "discrimination_groups": pytest.approx(1.0),
    }
    # q2: x=[1,1,0,0,0], rest=[2,1,2,1,0]: sxx=1.2, syy=2.8, sxy=0.6
    assert stats["q2"]["facility"] == pytest.approx(0.4)
    assert stats["q2"]["discrimination_corrected"] == pytest.approx(0.6 / math.sqrt(1.2 * 2.8))
    # q3: x=[1,0,1,1,0], rest=[2,2,1,0,0]: sxy = 0
    assert stats["q3"]["facility"] == pytest.approx(0.6)
    assert stats["q3"]["discrimination_corrected"] == pytest.approx(0.0)
    assert stats["q3"]["discrimination_groups"] == pytest.approx(1.0)


def test_upper_and_lower_groups_use_27_percent():
    totals = {a: float(a) for a in range(1, 11)}  # 27% of 10 rounds to 3: lower {1,2,3}, upper {8,9,10}
    item = {a: 1.0 if a in (3, 8, 9) else 0.0 for a in totals}
    stats = compute_item_stats(totals, {"q": item})
    assert stats["q"]["discrimination_groups"] == pytest.approx(2 / 3 - 1 / 3)
    assert stats["q"]["facility"] == pytest.approx(0.3)


def test_an_item_that_strong_learners_miss_discriminates_negatively():
    totals = {1: 4.0, 2: 3.0, 3: 1.0, 4: 1.0}
    stats = compute_item_stats(totals, {"q": {1: 0.0, 2: 0.0, 3: 1.0, 4: 1.0}})
    assert stats["q"]["discrimination_corrected"] < 0
    assert stats["q"]["discrimination_groups"] == pytest.approx(-1.0)
    flags = flags_for(stats["q"], min_responses=4)
    assert flags == ["negative_discrimination"]


def test_compute_item_stats_with_no_data():
    assert compute_item_stats({}, {}) == {}


def _stats(responses, facility, disc=0.2):
    return {"responses": responses, "facility": facility, "discrimination_corrected": disc}


@pytest.mark.parametrize(
    ("stats", "flags"),
    [
        (_stats(19, 1.0, -0.5), []),  # too few responses to flag anything
        (_stats(20, 0.90), ["too_easy"]),
        (_stats(20, 0.89), []),
        (_stats(20, 0.30), ["too_hard"]),
        (_stats(20, 0.31), []),
        (_stats(20, 0.5, -0.01), ["negative_discrimination"]),
        (_stats(20, 0.2, -0.3), ["too_hard", "negative_discrimination"]),
        (_stats(20, 0.5, None), []),
        (_stats(20, None, None), []),
    ],
)
def test_flags(stats, flags):
    assert flags_for(stats) == flags


def test_objective_mastery_weights_by_responses_weakest_first():
    def item(objective, facility, responses):
        return ItemStats(1, "k", 1, objective, "single", responses, facility, None, None)

    rows = objective_mastery([item("A", 1.0, 10), item("A", 0.0, 30), item("B", 0.5, 4), item("C", None, 0)])
    assert rows == [("A", pytest.approx(0.25), 40), ("B", pytest.approx(0.5), 4)]


# --- the selector ------------------------------------------------------------------------------------

BANK = single_choice_bank("st", 3, objective="S-1")


def _take(quiz, user, wrong: set[str], *, submit=True):
    """Answer st-0..st-2: "Right" unless in `wrong`, then "Wrong one"."""
    attempt, _ = services.start_attempt(user=user, quiz=quiz)
    for key, payload in payloads_by_key(attempt).items():
        text = "Wrong one" if key in wrong else "Right"
        pick = [c["id"] for c in payload["choices"] if c["text"] == text]
        services.save_answer(
            attempt_id=attempt.pk, user=user, question_id=payload["id"], response={"choice_ids": pick}
        )
    if submit:
        services.submit_attempt(attempt_id=attempt.pk, user=user)
    return attempt


@pytest.fixture
def measured_quiz(db):
    quiz = make_quiz(key="stats", bank_key="stats", questions=BANK)
    learners = [UserFactory() for _ in range(4)]
    firsts = [{"st-0", "st-1", "st-2"}, {"st-0", "st-1"}, {"st-0"}, set()]
    for learner, wrong in zip(learners, firsts, strict=True):
        _take(quiz, learner, wrong)
    for learner in learners[:2]:  # retakes, all right: practised, not measured
        _take(quiz, learner, set())
    _take(quiz, UserFactory(), set(), submit=False)  # an open first attempt: not measured either
    return quiz


def test_quiz_item_statistics_uses_first_attempts_only(measured_quiz):
    stats = {s.key: s for s in statistics.quiz_item_statistics(quiz=measured_quiz, min_responses=4)}
    assert sorted(stats) == ["st-0", "st-1", "st-2"]
    assert [stats[k].responses for k in sorted(stats)] == [4, 4, 4]
    assert [stats[k].facility for k in sorted(stats)] == pytest.approx([0.25, 0.5, 0.75])
    # hand-computed for st-0: x=[0,0,0,1], totals=[0,1,2,3], rest=[0,1,2,2]
    assert stats["st-0"].discrimination_corrected == pytest.approx(pearson([0, 0, 0, 1], [0, 1, 2, 2]))
    assert stats["st-0"].discrimination_groups == pytest.approx(1.0)
    assert stats["st-0"].flags == ["too_hard"]
    assert stats["st-1"].flags == [] and stats["st-2"].flags == []
    for key, right_picks in (("st-0", 1), ("st-1", 2), ("st-2", 3)):
        question = Question.objects.get(key=key)
        by_text = {Choice.objects.get(pk=pk).text: n for pk, n in stats[key].choice_picks.items()}
        assert by_text == {"Right": right_picks, "Wrong one": 4 - right_picks, "Wrong two": 0}
        assert (stats[key].question_id, stats[key].version) == (question.pk, 1)
    assert statistics.quiz_item_statistics(quiz=measured_quiz)[0].flags == []  # default minimum is 20


def test_quiz_item_statistics_runs_a_fixed_number_of_queries(measured_quiz, django_assert_num_queries):
    with django_assert_num_queries(4):
        small = statistics.quiz_item_statistics(quiz=measured_quiz)
    for _ in range(6):
        _take(measured_quiz, UserFactory(), {"st-1"})
    with django_assert_num_queries(4):
        large = statistics.quiz_item_statistics(quiz=measured_quiz)
    assert [s.responses for s in small] == [4, 4, 4]
    assert [s.responses for s in large] == [10, 10, 10]


# --- stored statistics (issue 18): served from a snapshot, refreshed by a task after grading ----------


def test_a_small_quiz_is_computed_on_demand_and_stored(measured_quiz, clock):
    stats, computed_at = statistics.stored_item_statistics(quiz=measured_quiz)
    assert computed_at == clock.now and [s.responses for s in stats] == [4, 4, 4]
    assert stats == statistics.quiz_item_statistics(quiz=measured_quiz)  # the same numbers, round-tripped
    clock.advance(minutes=5)
    _take(measured_quiz, UserFactory(), set())  # few answers: every view is fresh
    stats, computed_at = statistics.stored_item_statistics(quiz=measured_quiz)
    assert computed_at == clock.now and [s.responses for s in stats] == [5, 5, 5]


def test_a_large_quiz_is_served_from_the_snapshot_without_reading_answers(
    measured_quiz, clock, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(statistics, "ON_DEMAND_MAX_ANSWERS", 3)  # "large": more answers than this
    stored_at = statistics.refresh_item_statistics(quiz_id=measured_quiz.pk).computed_at
    clock.advance(minutes=5)
    _take(measured_quiz, UserFactory(), set())  # graded, not yet refreshed
    with django_assert_num_queries(1):  # the snapshot row only
        stats, computed_at = statistics.stored_item_statistics(quiz=measured_quiz)
    assert computed_at == stored_at and [s.responses for s in stats] == [4, 4, 4]
    assert [s.flags for s in stats] == [s.flags for s in statistics.quiz_item_statistics(quiz=measured_quiz)]


def test_grading_a_first_attempt_queues_one_refresh_task_a_minute_later(
    measured_quiz, clock, monkeypatch, settings
):
    from django.core.cache import cache

    from quizzes import tasks

    monkeypatch.setattr(statistics, "ON_DEMAND_MAX_ANSWERS", 3)
    statistics.refresh_item_statistics(quiz_id=measured_quiz.pk)
    settings.CELERY_TASK_ALWAYS_EAGER = False  # as in production: a broker, a worker
    queued = []
    monkeypatch.setattr(current_app, "send_task", lambda name, **kw: queued.append(kw))
    cache.delete(f"itemstats:scheduled:{measured_quiz.pk}")
    clock.advance(minutes=5)
    learner = UserFactory()
    _take(measured_quiz, learner, set())
    _take(measured_quiz, UserFactory(), {"st-0"})  # within the minute: the same refresh covers it
    _take(measured_quiz, learner, set())  # a retake is not measured
    assert queued == [{"args": [measured_quiz.pk], "countdown": statistics.REFRESH_DELAY_SECONDS}]
    assert statistics.stored_item_statistics(quiz=measured_quiz)[0][0].responses == 4  # not yet
    assert tasks.refresh_item_statistics_task.run(measured_quiz.pk) == 18  # the worker, a minute on
    stats, computed_at = statistics.stored_item_statistics(quiz=measured_quiz)
    assert computed_at == clock.now and [s.responses for s in stats] == [6, 6, 6]


def test_refresh_is_scheduled_once_per_window_and_this_process_skips_the_cache_meanwhile(
    settings, monkeypatch
):
    from django.core.cache import cache

    from quizzes import statistics

    settings.CELERY_TASK_ALWAYS_EAGER = False
    cache.clear()
    statistics._seen_scheduled.clear()
    clock = [1000.0]
    monkeypatch.setattr(statistics.time, "monotonic", lambda: clock[0])
    scheduled, adds = [], []
    monkeypatch.setattr(current_app, "send_task", lambda name, **kw: scheduled.append(kw))
    real_add = cache.add
    monkeypatch.setattr(cache, "add", lambda *a, **kw: adds.append(a[0]) or real_add(*a, **kw))
    statistics.schedule_refresh(7)
    assert scheduled == [{"args": [7], "countdown": statistics.REFRESH_DELAY_SECONDS}] and len(adds) == 1
    clock[0] += statistics.REFRESH_DELAY_SECONDS / 2 - 1
    statistics.schedule_refresh(7)  # covered by the refresh already scheduled: no cache round trip
    assert len(adds) == 1 and len(scheduled) == 1
    clock[0] += 2
    statistics.schedule_refresh(7)  # later in the window: the shared cache decides (still scheduled)
    assert len(adds) == 2 and len(scheduled) == 1
    statistics.schedule_refresh(8)  # another quiz has its own refresh
    assert [s["args"] for s in scheduled] == [[7], [8]]
    statistics._seen_scheduled.clear()
    cache.clear()
