"""Reads of the quiz engine with fixed query counts.

`attempt_for_learner` is the only shape an attempt leaves the server in. Before submit it carries the
stem, the choice texts under per-attempt opaque ids and the learner's own saved answers, and nothing
else: no correctness, feedback, explanation, key or database choice id. After submit, review data is
added only as far as the quiz's review policy allows.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from django.db.models import Prefetch, Q
from django.utils import timezone

from . import eligibility, grading
from .eligibility import QuizStanding, standing_from_attempts
from .errors import AttemptNotFound
from .layout import gradable_question_ids
from .markdown import render_markdown
from .models import Answer, Attempt, AttemptState, Choice, Question, Quiz


def own_attempt(*, attempt_id, user) -> Attempt:
    try:
        attempt_id = int(attempt_id)
    except (TypeError, ValueError):
        raise AttemptNotFound("No such attempt.") from None
    try:
        # get(): no ORDER BY, so no join to accounts_user to sort one row by the learner's name.
        return Attempt.objects.select_related("quiz").get(pk=attempt_id, user=user)
    except Attempt.DoesNotExist:
        raise AttemptNotFound("No such attempt.") from None


@lru_cache(maxsize=2048)
def _markdown(text: str) -> str:
    """render_markdown is a pure function of the text, and a question version's stem and explanation
    never change; every attempt payload renders the same 20-40 texts, so keep the HTML."""
    return render_markdown(text)


def _questions_for(attempt: Attempt) -> dict[int, Question]:
    ids = [int(k) for k in attempt.layout["items"]]
    return {
        q.pk: q
        for q in Question.objects.filter(pk__in=ids).prefetch_related(
            Prefetch("choices", queryset=Choice.objects.order_by("position"))
        )
    }


def _learner_response(item: dict, canonical: dict | None) -> dict | None:
    """Translate a stored answer back into the attempt's opaque ids."""
    if not canonical:
        return None
    if item["type"] in ("single", "multiple", "true_false", "ordering"):
        back = {str(pk): token for token, pk in item["choices"]}
        name = "order" if item["type"] == "ordering" else "choice_ids"
        return {name: [back[v] for v in canonical.get(name, []) if v in back]}
    if item["type"] == "matching":
        left = {str(pk): token for token, pk in item["left"]}
        right = {str(pk): token for token, pk in item["right"]}
        return {
            "pairs": {
                left[k]: right[v] for k, v in canonical.get("pairs", {}).items() if k in left and v in right
            }
        }
    return {"value": canonical.get("value")}


def _question_payload(q: Question, item: dict, choices_by_pk: dict[int, Choice]) -> dict:
    payload = {"id": q.pk, "type": q.type, "stem": q.stem, "stem_html": _markdown(q.stem)}
    if q.type in ("single", "multiple", "true_false"):
        payload["choices"] = [{"id": t, "text": choices_by_pk[pk].text} for t, pk in item["choices"]]
        payload["multiple"] = q.type == "multiple"
    elif q.type == "ordering":
        payload["items"] = [{"id": t, "text": choices_by_pk[pk].text} for t, pk in item["choices"]]
    elif q.type == "matching":
        extra = q.data.get("extra_right", [])

        def right_text(ref):
            if isinstance(ref, str) and ref.startswith("x"):
                return extra[int(ref[1:])]
            return choices_by_pk[ref].match_text

        payload["left"] = [{"id": t, "text": choices_by_pk[pk].text} for t, pk in item["left"]]
        payload["right"] = [{"id": t, "text": right_text(ref)} for t, ref in item["right"]]
    elif q.type == "numeric":
        payload["unit"] = q.data.get("unit", "")
    return payload


@dataclass(frozen=True)
class ReviewRules:
    score: bool
    which_wrong: bool
    full_key: bool
    # Certifying quizzes: the objectives to revisit, never which item was wrong (that alone, sat often
    # enough, would map the reserved exam pool's keys).
    by_objective: bool = False


def review_rules(quiz: Quiz) -> ReviewRules:
    policy = quiz.review_policy
    return ReviewRules(
        score=policy in ("score", "wrong", "full", "objectives"),
        which_wrong=policy in ("wrong", "full"),
        full_key=policy == "full",
        by_objective=policy == "objectives",
    )


def _review_for(q: Question, item: dict, answer: Answer | None, rules: ReviewRules) -> dict:
    review: dict = {}
    if rules.which_wrong:
        points = answer.points if answer and answer.points is not None else Decimal(0)
        review["points"] = str(points)
        review["is_correct"] = points == 1
    if rules.full_key:
        choices = {c.pk: c for c in q.choices.all()}
        review["explanation_html"] = _markdown(q.explanation)
        review["explanation"] = q.explanation
        review["source"] = q.source
        review["reason"] = answer.reason if answer else ""
        if q.type in ("single", "multiple", "true_false"):
            review["correct_answer"] = {"choice_ids": [t for t, pk in item["choices"] if choices[pk].correct]}
            review["feedback"] = {
                t: choices[pk].feedback for t, pk in item["choices"] if choices[pk].feedback
            }
        elif q.type == "ordering":
            by_pos = sorted(item["choices"], key=lambda tp: choices[tp[1]].position)
            review["correct_answer"] = {"order": [t for t, _ in by_pos]}
        elif q.type == "matching":
            right = {pk: t for t, pk in item["right"]}
            review["correct_answer"] = {"pairs": {t: right[pk] for t, pk in item["left"]}}
        elif q.type == "numeric":
            data = q.data
            review["correct_answer"] = (
                {"value": data["value"], "tolerance": data["tolerance"]}
                if "value" in data
                else {"min": data["min"], "max": data["max"]}
            )
    return review


def attempt_for_learner(attempt: Attempt, *, now: datetime | None = None) -> dict:
    """The attempt as the learner may see it now. 3 queries whatever the number of questions."""
    now = now or timezone.now()
    quiz = attempt.quiz
    questions = _questions_for(attempt)
    answers = {a.question_id: a for a in Answer.objects.filter(attempt=attempt)}
    choices_by_pk = {c.pk: c for q in questions.values() for c in q.choices.all()}
    submitted = attempt.state == AttemptState.SUBMITTED
    rules = review_rules(quiz)

    def build(qid: int) -> dict:
        q = questions[qid]
        item = attempt.layout["items"][str(qid)]
        payload = _question_payload(q, item, choices_by_pk)
        if q.type == "scenario":
            payload["parts"] = [build(pid) for pid in item["parts"]]
            return payload
        answer = answers.get(qid)
        payload["response"] = _learner_response(item, answer.response if answer else None)
        payload["answered"] = grading.is_answered(item, answer.response if answer else None)
        if submitted:
            review = _review_for(q, item, answer, rules)
            if review:
                payload["review"] = review
        return payload

    data = {
        "id": attempt.pk,
        "quiz": {"id": quiz.pk, "title": quiz.title, "pass_mark": quiz.pass_mark, "layout": quiz.layout},
        "number": attempt.number,
        "state": attempt.state,
        "started_at": attempt.started_at,
        "deadline": attempt.deadline,
        "server_now": now,
        "seconds_left": max(0, int((attempt.deadline - now).total_seconds())) if attempt.deadline else None,
        "questions": [build(qid) for qid in attempt.layout["order"]],
        "answered": sum(
            1
            for qid in gradable_question_ids(attempt.layout)
            if answers.get(qid)
            and grading.is_answered(attempt.layout["items"][str(qid)], answers[qid].response)
        ),
        "total_items": len(gradable_question_ids(attempt.layout)),
    }
    if submitted:
        data["submitted_at"] = attempt.submitted_at
        data["closed_by"] = attempt.closed_by
        data["passed"] = attempt.passed
        # A failed attempt always says a critical question was missed and which objective it tests.
        data["critical_missed_objectives"] = sorted({c["objective"] for c in attempt.critical_missed})
        if rules.score:
            data["score"] = str(attempt.score)
        if rules.by_objective:
            data["objectives_to_revisit"] = sorted(
                {
                    questions[qid].objective
                    for qid in gradable_question_ids(attempt.layout)
                    if answers.get(qid) is None or answers[qid].points is None or answers[qid].points < 1
                }
            )
    return data


def submission_result(attempt: Attempt, *, graded_now: bool) -> dict:
    """What a submit answers: the grade as the review policy allows, no questions (GET the attempt for
    the review). No query: everything is on the graded attempt row and its quiz."""
    quiz = attempt.quiz
    data = {
        "id": attempt.pk,
        "quiz": {"id": quiz.pk, "title": quiz.title, "pass_mark": quiz.pass_mark, "layout": quiz.layout},
        "number": attempt.number,
        "state": attempt.state,
        "started_at": attempt.started_at,
        "deadline": attempt.deadline,
        "submitted_at": attempt.submitted_at,
        "closed_by": attempt.closed_by,
        "passed": attempt.passed,
        "critical_missed_objectives": sorted({c["objective"] for c in attempt.critical_missed}),
        "graded_now": graded_now,
    }
    rules = review_rules(quiz)
    if rules.score:
        data["score"] = str(attempt.score)
    if rules.by_objective:  # certifying: the objectives to revisit (one query; graded: every item has a row)
        data["objectives_to_revisit"] = sorted(
            set(
                Answer.objects.filter(attempt=attempt)
                .filter(Q(points__lt=1) | Q(points__isnull=True))
                .values_list("question__objective", flat=True)
            )
        )
    return data


def quiz_standing(*, user, quiz: Quiz) -> QuizStanding:
    return standing_from_attempts(quiz, list(Attempt.objects.filter(user=user, quiz=quiz)))


def is_past_deadline(attempt: Attempt, now: datetime | None = None) -> bool:
    return eligibility.is_past_deadline(attempt, now or timezone.now())
