"""Every write of the quiz engine. Keyword-only, one transaction each, domain errors on refusal.

Concurrency: `start_attempt` serialises per user with a row lock on the user; `submit_attempt` locks
the attempt row (FOR UPDATE) and `save_answer`'s single upsert takes it FOR KEY SHARE, so a save racing a
submit either lands before grading or is refused, saves never wait for each other, and parallel
submits grade once. The database constraints back every rule up.
"""

import contextlib
import json
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from core.rows import RowBuilder

from . import grading, specs, statistics
from .eligibility import GRACE, Eligibility, QuizStartState, is_past_deadline, quiz_eligibility
from .errors import (
    AttemptClosed,
    AttemptLimitReached,
    AttemptNotFound,
    ContentError,
    CoolingDown,
    DeadlinePassed,
    InvalidAnswer,
    QuizError,
    QuizLocked,
)
from .layout import assemble_layout, gradable_question_ids
from .models import (
    Answer,
    Attempt,
    AttemptState,
    Choice,
    DrawRule,
    Pool,
    Question,
    QuestionBank,
    Quiz,
    QuizOverride,
)

# Called with each attempt right after it is graded, inside the grading transaction: how the course
# layer refreshes progress, audits and evaluates completion without the quiz engine importing it.
GradedHandler = Callable[[Attempt], None]
StartedHandler = Callable[[Attempt], None]


# --- content --------------------------------------------------------------------------------------


@dataclass
class BankImportReport:
    bank: QuestionBank
    added: list[str]
    changed: list[str]
    unchanged: list[str]
    retired: list[str]

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.changed or self.retired)


def _create_question_version(*, bank, spec, parent=None, position=0) -> Question:
    latest = Question.objects.filter(key=spec["key"]).aggregate(v=Max("version"))["v"] or 0
    Question.objects.filter(key=spec["key"], is_current=True).update(is_current=False)
    question = Question.objects.create(
        bank=bank,
        key=spec["key"],
        version=latest + 1,
        is_current=True,
        parent=parent,
        position=position,
        type=spec["type"],
        stem=spec["stem"].strip(),
        explanation=spec["explanation"].strip(),
        objective=spec["objective"].strip(),
        difficulty=spec.get("difficulty", 2),
        critical=spec.get("critical", False),
        clinically_significant=spec.get("clinically_significant", False),
        source=spec["source"].strip(),
        scoring=spec.get("scoring", "all_or_nothing"),
        data=specs.question_data(spec),
        content_hash=specs.content_hash(spec),
    )
    Choice.objects.bulk_create(
        Choice(question=question, position=i, **row) for i, row in enumerate(specs.choice_rows(spec))
    )
    for i, part in enumerate(spec.get("parts") or []):
        _create_question_version(bank=bank, spec=part, parent=question, position=i)
    return question


@transaction.atomic
def import_bank(
    *, key: str, title: str, questions: list[dict], pool: str = Pool.PRACTICE
) -> BankImportReport:
    """Load a bank from content. Unchanged questions stay; changed ones get a new version (the old one,
    and every attempt that used it, stays intact); questions no longer in the file are retired."""
    problems = specs.validate_bank(questions)
    if pool not in Pool.values:
        problems.append(f"pool must be one of {', '.join(Pool.values)}, not {pool!r}")
    if problems:
        raise ContentError([f"bank {key}: {p}" for p in problems])
    bank, created = QuestionBank.objects.get_or_create(key=key, defaults={"title": title, "pool": pool})
    if not created and bank.pool != pool:
        # Practice items have been shown with their keys; moving them into (or exam items out of) the
        # reserved pool would put revealed keys on the certifying exam. New exam items get a new bank.
        raise ContentError(
            [
                f"bank {key}: it is a {bank.pool}-pool bank and cannot become {pool}; put the items in a new bank"
            ]
        )
    keys = [k for spec in questions for k in [spec["key"]] + [p["key"] for p in spec.get("parts") or []]]
    crossing = sorted(
        Question.objects.filter(key__in=keys)
        .exclude(bank__pool=pool)
        .values_list("key", flat=True)
        .distinct()
    )
    if crossing:
        raise ContentError(
            [f"bank {key}: question key(s) already used in the other pool: {', '.join(crossing)}"]
        )
    if bank.title != title:
        bank.title = title
        bank.save(update_fields=["title"])
    current = {q.key: q for q in Question.objects.filter(bank=bank, is_current=True, parent__isnull=True)}
    report = BankImportReport(bank, [], [], [], [])
    for spec in questions:
        existing = current.pop(spec["key"], None)
        if existing is not None and existing.content_hash == specs.content_hash(spec):
            report.unchanged.append(spec["key"])
            continue
        if existing is not None:
            Question.objects.filter(parent=existing).update(is_current=False)
        _create_question_version(bank=bank, spec=spec)
        (report.changed if existing else report.added).append(spec["key"])
    for gone in current.values():
        Question.objects.filter(Q(pk=gone.pk) | Q(parent=gone)).update(is_current=False)
        report.retired.append(gone.key)
    return report


def question_keys(questions: list[dict]) -> list[str]:
    return [k for spec in questions for k in [spec["key"]] + [p["key"] for p in spec.get("parts") or []]]


@transaction.atomic
def add_questions(
    *, key: str, title: str, questions: list[dict], pool: str = Pool.PRACTICE
) -> tuple[QuestionBank, bool]:
    """Add new questions to a bank, creating the bank if needed (question import). Unlike `import_bank`
    (a bank file is the whole bank), questions already in the bank stay as they are; a key already used
    anywhere is refused, because a key names one question forever."""
    problems = specs.validate_bank(questions)
    if pool not in Pool.values:
        problems.append(f"pool must be one of {', '.join(Pool.values)}, not {pool!r}")
    used = sorted(
        set(Question.objects.filter(key__in=question_keys(questions)).values_list("key", flat=True))
    )
    if used:
        problems.append(f"question key(s) already used: {', '.join(used)}")
    if problems:
        raise ContentError([f"bank {key}: {p}" for p in problems])
    bank, created = QuestionBank.objects.get_or_create(key=key, defaults={"title": title, "pool": pool})
    if not created and bank.pool != pool:
        raise ContentError([f"bank {key}: it is a {bank.pool}-pool bank, not {pool}"])
    for spec in questions:
        _create_question_version(bank=bank, spec=spec)
    return bank, created


QUIZ_SETTING_FIELDS = (
    "title",
    "kind",
    "pass_mark",
    "attempt_limit",
    "time_limit_minutes",
    "cooldown_minutes",
    "grading_policy",
    "review_policy",
    "layout",
    "shuffle_questions",
    "shuffle_choices",
    "require_lessons_read",
    "remediation_extra_questions",
    "certifying",
)


@transaction.atomic
def upsert_quiz(*, key: str, settings_: dict, draw: list[dict]) -> tuple[Quiz, bool]:
    """A quiz with these exact settings and draw rules; reused when unchanged so statistics accumulate."""
    unknown = set(settings_) - set(QUIZ_SETTING_FIELDS)
    problems = [f"quiz {key}: unknown setting {name}" for name in sorted(unknown)]
    certifying = bool(settings_.get("certifying", False))
    pool = Pool.EXAM if certifying else Pool.PRACTICE
    if certifying and settings_.get("review_policy", Quiz.ReviewPolicy.FULL) != Quiz.ReviewPolicy.OBJECTIVES:
        problems.append(
            f"quiz {key}: a certifying quiz must use review_policy: objectives (score and objectives to "
            f"revisit, never keys or per-item marks), not {settings_.get('review_policy', 'full')}"
        )
    rules = []
    for i, rule in enumerate(draw or []):
        bank_key, objective = rule.get("bank"), rule.get("objective", "")
        question_key, count = rule.get("question", ""), rule.get("count")
        if (
            sum(bool(x) for x in (bank_key, objective, question_key)) != 1
            or not isinstance(count, int)
            or count < 1
        ):
            problems.append(
                f"quiz {key}: draw rule {i + 1} needs exactly one of bank, objective or question, and a count >= 1"
            )
            continue
        bank = QuestionBank.objects.filter(key=bank_key).first() if bank_key else None
        if bank_key and bank is None:
            problems.append(f"quiz {key}: draw rule {i + 1} names unknown bank {bank_key}")
            continue
        if bank and bank.pool != pool:
            problems.append(
                f"quiz {key}: draw rule {i + 1} names {bank.pool}-pool bank {bank_key}, but a "
                + (
                    "certifying quiz draws only from exam-pool banks (pool: exam)"
                    if certifying
                    else "quiz that is not certifying never draws from the reserved exam pool"
                )
            )
            continue
        available = drawable_questions(pool)
        if bank:
            available = available.filter(bank=bank)
        elif objective:
            available = available.filter(objective=objective)
        else:
            available = available.filter(key=question_key)
        if available.count() < count:
            problems.append(
                f"quiz {key}: draw rule {i + 1} wants {count} {pool}-pool questions, only "
                f"{available.count()} exist"
            )
        rules.append(
            DrawRule(
                position=i, bank=bank, objective=objective or "", question_key=question_key or "", count=count
            )
        )
    if not rules:
        problems.append(f"quiz {key}: at least one draw rule is required")
    if problems:
        raise ContentError(problems)
    digest = specs.content_hash({"settings": settings_, "draw": draw})
    quiz = Quiz.objects.filter(key=key, settings_hash=digest).first()
    if quiz is not None:
        return quiz, False
    quiz = Quiz(key=key, settings_hash=digest, **settings_)
    quiz.full_clean(exclude=["settings_hash"])
    quiz.save()
    for rule in rules:
        rule.quiz = quiz
    DrawRule.objects.bulk_create(rules)
    return quiz, True


@transaction.atomic
def grant_quiz_override(
    *,
    user,
    quiz: Quiz | None,
    kind: str,
    reason: str,
    granted_by,
    value: Decimal = Decimal(1),
    now: datetime | None = None,
) -> QuizOverride:
    if not (reason or "").strip():
        raise InvalidAnswer("A reason is required.", field_errors={"reason": ["A reason is required."]})
    if kind == QuizOverride.Kind.TIME_MULTIPLIER and not Decimal(1) <= Decimal(value) <= Decimal(4):
        raise InvalidAnswer("Time multiplier must be 1-4.", field_errors={"value": ["Between 1 and 4."]})
    return QuizOverride.objects.create(
        user=user,
        quiz=quiz,
        kind=kind,
        value=value,
        reason=reason.strip(),
        granted_by=granted_by,
        granted_at=now or timezone.now(),
    )


# --- attempts -------------------------------------------------------------------------------------


def _rule_matches(rule: DrawRule, question: Question) -> bool:
    if rule.bank_id:
        return question.bank_id == rule.bank_id
    if rule.objective:
        return question.objective == rule.objective
    return question.key == rule.question_key


def drawable_questions(pool: str):
    """Current top-level questions a quiz drawing from `pool` may be given: the one place the reserved
    exam pool is kept apart (validation, draws and remediation draws all start here)."""
    return Question.objects.filter(is_current=True, parent__isnull=True, bank__pool=pool)


def _draw_questions(quiz: Quiz, rng: random.Random, *, focus_objectives: list[str]) -> list[Question]:
    chosen: list[Question] = []
    taken: set[int] = set()
    rules = list(quiz.draw_rules.all())
    candidates = list(
        drawable_questions(quiz.pool)
        .filter(
            Q(bank__in=[r.bank_id for r in rules if r.bank_id])
            | Q(objective__in=[r.objective for r in rules if r.objective] + focus_objectives)
            | Q(key__in=[r.question_key for r in rules if r.question_key])
        )
        .order_by("key")
    )
    for rule in rules:
        pool = [q for q in candidates if q.pk not in taken and _rule_matches(rule, q)]
        picked = rng.sample(pool, min(rule.count, len(pool)))
        chosen += picked
        taken.update(q.pk for q in picked)
    if focus_objectives and quiz.remediation_extra_questions:
        pool = [q for q in candidates if q.pk not in taken and q.objective in focus_objectives]
        chosen += rng.sample(pool, min(quiz.remediation_extra_questions, len(pool)))
    if quiz.shuffle_questions:
        rng.shuffle(chosen)
    return chosen


def _build_layout(questions: list[Question], rng: random.Random, *, shuffle_choices: bool) -> dict:
    ids = [q.pk for q in questions]
    parts_by_parent: dict[int, list[Question]] = {}
    for part in Question.objects.filter(parent_id__in=ids).order_by("position"):
        parts_by_parent.setdefault(part.parent_id, []).append(part)
    all_ids = ids + [p.pk for ps in parts_by_parent.values() for p in ps]
    choices: dict[int, list[Choice]] = {}
    for choice in Choice.objects.filter(question_id__in=all_ids).order_by("question_id", "position"):
        choices.setdefault(choice.question_id, []).append(choice)
    return assemble_layout(questions, parts_by_parent, choices, rng, shuffle_choices=shuffle_choices)


def missed_objectives(attempt: Attempt) -> list[str]:
    """Objectives of the items an attempt did not get fully right (drives remediation). 1 query."""
    return sorted(
        set(
            Answer.objects.filter(attempt=attempt, points__lt=1).values_list("question__objective", flat=True)
        )
    )


def start_attempt(
    *,
    user,
    quiz: Quiz,
    now: datetime | None = None,
    lesson_lock: str | None = None,
    window_start: datetime | None = None,
    on_graded: GradedHandler | None = None,
    on_started: StartedHandler | None = None,
) -> tuple[Attempt, bool]:
    """Resume the learner's open attempt, or start a new one: (attempt, created).

    The course layer passes its lesson lock (the reason, or None) and the start of the current window
    (its cycle; None: every attempt counts); `eligibility.quiz_eligibility` decides. An open attempt
    found past its deadline is graded (and `on_graded` called) in its own transaction first, so the
    grading stands even when the start is then refused; otherwise the learner would loop on "resume"
    until the sweep. Raises QuizLocked, AttemptLimitReached or CoolingDown (HTTP 409)."""
    now = now or timezone.now()
    start = {
        "user": user,
        "quiz": quiz,
        "now": now,
        "lesson_lock": lesson_lock,
        "window_start": window_start,
        "on_started": on_started,
    }
    with transaction.atomic():
        _lock_learner(user)
        open_attempt = _open_attempt_for_update(user=user, quiz=quiz)
        if open_attempt is None:
            return _start_new_attempt(**start)
        if not _past_grace(open_attempt, now):
            return open_attempt, False
        _grade(open_attempt, now=now, closed_by=Attempt.Closure.DEADLINE, on_graded=on_graded)
    # The grading is committed; the start that found it is its own transaction and may be refused.
    with transaction.atomic():
        _lock_learner(user)
        open_attempt = _open_attempt_for_update(user=user, quiz=quiz)
        if open_attempt is not None:  # another tab started one in between: resume it
            return open_attempt, False
        return _start_new_attempt(**start)


def _lock_learner(user) -> None:
    # One start at a time per learner: parallel clicks and tabs get the same attempt.
    get_user_model().objects.select_for_update().only("pk").get(pk=user.pk)


def _open_attempt_for_update(*, user, quiz: Quiz) -> Attempt | None:
    return (
        Attempt.objects.select_for_update()
        .filter(user=user, quiz=quiz, state=AttemptState.IN_PROGRESS)
        .order_by()  # at most one row (partial unique constraint); no join to sort by the user's name
        .first()
    )


def applicable_overrides(*, user, quiz_ids) -> list[QuizOverride]:
    """The learner's quiz overrides for these quizzes or for every quiz, oldest first. 1 query."""
    return list(
        QuizOverride.objects.filter(Q(quiz_id__in=list(quiz_ids)) | Q(quiz__isnull=True), user=user).order_by(
            "granted_at"
        )
    )


def refusal_for(eligibility: Eligibility) -> QuizError:
    """The domain error (and HTTP 409) for a start the rule refuses; its message is the rule's reason."""
    error_class = {
        QuizStartState.LOCKED: QuizLocked,
        QuizStartState.NO_ATTEMPTS_LEFT: AttemptLimitReached,
        QuizStartState.COOLING_DOWN: CoolingDown,
    }[eligibility.blocked_by]
    return error_class(eligibility.reason, eligibility=eligibility)


def _start_new_attempt(
    *,
    user,
    quiz: Quiz,
    now: datetime,
    lesson_lock: str | None,
    window_start: datetime | None,
    on_started: StartedHandler | None,
) -> tuple[Attempt, bool]:
    """Decide with the one rule and create the attempt, then call `on_started` in the same
    transaction. The caller holds the learner's row lock."""
    submitted = Attempt.objects.filter(user=user, quiz=quiz, state=AttemptState.SUBMITTED).defer("layout")
    if window_start is not None:
        # A new training cycle starts a fresh count: last year's attempts do not use up this year's.
        submitted = submitted.filter(started_at__gte=window_start)
    submitted = list(submitted.order_by("number"))
    eligibility = quiz_eligibility(
        quiz=quiz,
        attempts=submitted,
        overrides=applicable_overrides(user=user, quiz_ids=[quiz.pk]),
        lesson_lock=lesson_lock,
        now=now,
    )
    if not eligibility.can_start:
        raise refusal_for(eligibility)
    multiplier = eligibility.time_multiplier
    last = submitted[-1] if submitted else None
    rng = random.Random(secrets.randbits(64))  # noqa: S311 - shuffling, not secrets; ids come from secrets
    questions = _draw_questions(
        quiz,
        rng,
        focus_objectives=missed_objectives(last) if last is not None and last.passed is False else [],
    )
    layout = _build_layout(questions, rng, shuffle_choices=quiz.shuffle_choices)
    deadline = None
    if quiz.time_limit_minutes:
        deadline = now + timedelta(seconds=int(quiz.time_limit_minutes * 60 * multiplier))
    number = (Attempt.objects.filter(user=user, quiz=quiz).aggregate(n=Max("number"))["n"] or 0) + 1
    attempt = Attempt.objects.create(
        user=user,
        quiz=quiz,
        number=number,
        layout=layout,
        started_at=now,
        deadline=deadline,
        time_multiplier=multiplier,
    )
    if on_started is not None:
        on_started(attempt)
    return attempt, True


_past_grace = is_past_deadline


def _lock_own_attempt(*, attempt_id: int, user) -> Attempt:
    """The learner's own attempt with its quiz, locked FOR UPDATE (AttemptNotFound otherwise). On
    PostgreSQL one query written once per process (core.rows): the ORM's compilation of this join was
    a large share of a submit's CPU (py-spy, issue 18)."""
    try:
        attempt_id = int(attempt_id)
    except (TypeError, ValueError):
        raise AttemptNotFound("No such attempt.") from None
    if connection.vendor == "postgresql":
        reader = _attempt_lock_reader()
        with connection.cursor() as cursor:
            cursor.execute(reader.sql, [attempt_id, user.pk])
            row = cursor.fetchone()
        if row is None:
            raise AttemptNotFound("No such attempt.")
        attempt = reader.attempt.build(row[: len(reader.attempt)])
        attempt.quiz = reader.quiz.build(row[len(reader.attempt) :])
        attempt.user = user  # the row was found by its user: what follows a grading needs no read of it
        return attempt
    # get() drops Attempt's default ordering (user, quiz, number), which would join accounts_user only
    # to sort this one-row primary-key lookup by the learner's name.
    try:
        attempt = (
            Attempt.objects.select_for_update(of=("self",))
            .select_related("quiz")
            .get(pk=attempt_id, user=user)
        )
    except Attempt.DoesNotExist:
        raise AttemptNotFound("No such attempt.") from None
    attempt.user = user
    return attempt


@dataclass
class _AttemptLockReader:
    attempt: RowBuilder
    quiz: RowBuilder
    sql: str


_lock_reader: _AttemptLockReader | None = None


def _attempt_lock_reader() -> _AttemptLockReader:
    global _lock_reader
    if _lock_reader is None:
        attempt, quiz = RowBuilder(Attempt), RowBuilder(Quiz)
        sql = (
            f"SELECT {attempt.columns('a')}, {quiz.columns('q')} FROM {attempt.table} a "  # noqa: S608 - names from the models
            f"JOIN {quiz.table} q ON q.id = a.quiz_id WHERE a.id = %s AND a.user_id = %s FOR UPDATE OF a"
        )
        _lock_reader = _AttemptLockReader(attempt, quiz, sql)
    return _lock_reader


def _canonical_response(item: dict, body, *, field: str) -> dict:
    """Translate a response from per-attempt opaque ids to choice primary keys, validating its shape.
    Partial answers are fine (autosave); ids from elsewhere or wrong types are refused."""
    if not isinstance(body, dict):
        raise InvalidAnswer(
            "The answer must be a JSON object.", field_errors={field: ["Expected an object."]}
        )
    qtype = item["type"]
    if qtype == "scenario":
        raise InvalidAnswer(
            "Answer the scenario's parts under their own question ids.",
            field_errors={field: ["A scenario has no answer of its own."]},
        )
    if qtype in ("single", "multiple", "true_false", "ordering"):
        name = "order" if qtype == "ordering" else "choice_ids"
        allowed_keys = {name}
    elif qtype == "matching":
        name, allowed_keys = "pairs", {"pairs"}
    else:
        name, allowed_keys = "value", {"value"}
    extra = set(body) - allowed_keys
    if extra:
        raise InvalidAnswer(
            f"Unexpected field(s) for a {qtype} question: {', '.join(sorted(extra))}.",
            field_errors={k: ["Not a field of this question type."] for k in sorted(extra)},
        )
    value = body.get(name)
    if qtype in ("single", "multiple", "true_false", "ordering"):
        tokens = dict(item["choices"])
        if value is None:
            value = []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidAnswer(
                "Expected a list of choice ids.", field_errors={name: ["Expected a list of ids."]}
            )
        unknown = [v for v in value if v not in tokens]
        if unknown:
            raise InvalidAnswer(
                "One or more ids do not belong to this question.",
                field_errors={name: [f"Unknown id: {v}" for v in unknown[:5]]},
            )
        if len(set(value)) != len(value):
            raise InvalidAnswer("An id appears twice.", field_errors={name: ["Each id may appear once."]})
        if qtype in ("single", "true_false") and len(value) > 1:
            raise InvalidAnswer("Pick one choice.", field_errors={name: ["Only one choice can be picked."]})
        return {name: [str(tokens[v]) for v in value]}
    if qtype == "matching":
        left, right = dict(item["left"]), dict(item["right"])
        if value is None:
            value = {}
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in value.items()
        ):
            raise InvalidAnswer(
                "Expected pairs of ids.", field_errors={"pairs": ["Expected {left_id: right_id}."]}
            )
        bad = [k for k in value if k not in left] + [
            v for v in value.values() if v is not None and v not in right
        ]
        if bad:
            raise InvalidAnswer(
                "One or more ids do not belong to this question.",
                field_errors={"pairs": [f"Unknown id: {v}" for v in bad[:5]]},
            )
        return {"pairs": {str(left[k]): str(right[v]) for k, v in value.items() if v is not None}}
    if value is None or value == "":
        return {"value": None}
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidAnswer("Expected a number.", field_errors={"value": ["Expected a number."]})
    if grading._decimal(value) is None:
        raise InvalidAnswer("Expected a number.", field_errors={"value": ["Expected a number."]})
    return {"value": str(value).strip()}


@dataclass(frozen=True)
class SavedAnswer:
    attempt_id: int
    question_id: int
    saved_at: datetime
    type: str
    response: dict  # as stored (choice primary keys)
    answered: bool  # grading.is_answered: what the navigator and the answered count show
    flagged: list[int]  # the attempt's review flags, as read with the save


def form_item(question_id: int, item: dict) -> dict:
    """The ids a form for one layout item carries (what frontend.forms reads), without the attempt's
    texts: the page's autosave needs no stem or choice text to turn its form into an answer body."""
    return {
        "id": question_id,
        "type": item["type"],
        "items": [{"id": token} for token, _ in item.get("choices", [])],
        "left": [{"id": token} for token, _ in item.get("left", [])],
    }


def _attempt_for_save(*, attempt_id, user, key: str):
    """(state, deadline, layout item or None, review flags) of the learner's own attempt, or None. One query; on
    PostgreSQL only the one item leaves the database, not the whole layout."""
    try:
        attempt_id = int(attempt_id)
    except (TypeError, ValueError):
        return None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT state, deadline, layout -> 'items' -> %s::text, flagged FROM {Attempt._meta.db_table} "  # noqa: S608 - table name from the model
                "WHERE id = %s AND user_id = %s",
                [key, attempt_id, user.pk],
            )
            row = cursor.fetchone()
        if row is None:
            return None
        state, deadline, item, flagged = row
        if isinstance(item, str):  # psycopg returns jsonb decoded; a plain cursor factory may not
            item = json.loads(item)
        if isinstance(flagged, str):
            flagged = json.loads(flagged)
        return state, deadline, item, flagged or []
    row = (
        Attempt.objects.filter(pk=attempt_id, user=user)
        .values_list("state", "deadline", "layout", "flagged")
        .first()
    )
    if row is None:
        return None
    state, deadline, layout, flagged = row
    return state, deadline, layout["items"].get(key), flagged or []


def _upsert_open_answer(*, attempt_id: int, user, question_id: int, canonical: dict, now: datetime) -> bool:
    """Store the answer in one statement, only while the attempt is the learner's, open and within its
    deadline plus grace. True when stored.

    On PostgreSQL the attempt row is taken FOR KEY SHARE: saves never wait for each other, but a save
    and a submit (FOR UPDATE) are serialised. A save that reaches the row first is committed before
    grading reads the answers; a save that waits for a submit re-checks the row once the submit has
    committed, finds it submitted and stores nothing. Either way no acknowledged save is left out of
    the grade. SQLite (the embedded run) takes its write lock at BEGIN (transaction_mode IMMEDIATE).
    """
    ops = connection.ops
    lock = " FOR KEY SHARE" if connection.vendor == "postgresql" else ""
    answers, attempts = Answer._meta.db_table, Attempt._meta.db_table
    sql = (
        f"INSERT INTO {answers} (attempt_id, question_id, response, saved_at, reason) "  # noqa: S608 - table names from the models
        f"SELECT id, %s, %s, %s, '' FROM {attempts} "
        "WHERE id = %s AND user_id = %s AND state = %s AND (deadline IS NULL OR deadline >= %s)"
        f"{lock} ON CONFLICT (attempt_id, question_id) DO UPDATE "
        "SET response = excluded.response, saved_at = excluded.saved_at RETURNING 1"
    )
    params = [
        question_id,
        json.dumps(canonical),
        ops.adapt_datetimefield_value(now),
        attempt_id,
        user.pk,
        AttemptState.IN_PROGRESS,
        ops.adapt_datetimefield_value(now - GRACE),
    ]
    # One statement is its own transaction on PostgreSQL (no BEGIN/COMMIT round trips); SQLite needs
    # BEGIN IMMEDIATE, or a stale read snapshot would fail the write instead of waiting for the lock.
    with transaction.atomic() if lock == "" else contextlib.nullcontext(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


def _refuse_closed_or_expired(
    *, attempt_id: int, user, now: datetime, on_graded: GradedHandler | None = None
) -> None:
    """Why a save was refused, with the side effect the rules ask for: an attempt found past its
    deadline plus grace is graded on the spot (with the answers saved in time) before refusing."""
    with transaction.atomic():
        attempt = _lock_own_attempt(attempt_id=attempt_id, user=user)
        if not attempt.is_open:
            raise AttemptClosed("This attempt has already been submitted; answers can no longer change.")
        if _past_grace(attempt, now):
            _grade(attempt, now=now, closed_by=Attempt.Closure.DEADLINE, on_graded=on_graded)
        else:  # open and in time, yet not stored: only a vanished row can do that
            raise AttemptNotFound("No such attempt.")
    raise DeadlinePassed("Time is up: this attempt was graded with the answers saved before the deadline.")


def save_answer(
    *,
    attempt_id: int,
    user,
    question_id,
    response: dict | Callable[[dict], dict | None],
    now: datetime | None = None,
    on_graded: GradedHandler | None = None,
) -> SavedAnswer:
    """Autosave one answer (idempotent: the later save wins), for the API and the attempt page alike.
    Refused when the attempt is not the learner's (404), already submitted (409) or past its deadline
    plus grace (graded on the spot, then 409), and for ids or shapes that are not this question's (400).

    `response` is the body in the attempt's opaque ids, or a callable that builds it from the question's
    form ids (`form_item`), so the page reads its form without loading the attempt's texts.
    Two round trips on PostgreSQL: read the one layout item, then one guarded upsert.
    """
    now = now or timezone.now()
    key = str(question_id)
    found = _attempt_for_save(attempt_id=attempt_id, user=user, key=key)
    if found is None:
        raise AttemptNotFound("No such attempt.")
    state, deadline, item, flagged = found
    if state != AttemptState.IN_PROGRESS or (deadline is not None and now > deadline + GRACE):
        _refuse_closed_or_expired(attempt_id=int(attempt_id), user=user, now=now, on_graded=on_graded)
    if item is None:
        raise InvalidAnswer(
            "This question is not part of the attempt.", field_errors={"question": ["Not in this attempt."]}
        )
    body = response(form_item(int(key), item)) if callable(response) else response
    if body is None:
        raise InvalidAnswer(
            "The form carries no answer for this question.", field_errors={"response": ["No answer given."]}
        )
    canonical = _canonical_response(item, body, field="response")
    if not _upsert_open_answer(
        attempt_id=int(attempt_id), user=user, question_id=int(key), canonical=canonical, now=now
    ):
        _refuse_closed_or_expired(attempt_id=int(attempt_id), user=user, now=now, on_graded=on_graded)
    return SavedAnswer(
        attempt_id=int(attempt_id),
        question_id=int(key),
        saved_at=now,
        type=item["type"],
        response=canonical,
        answered=grading.is_answered(item, canonical),
        flagged=flagged,
    )


def set_review_flag(*, attempt_id: int, user, question_id, flagged: bool) -> list[int]:
    """Flag (or unflag) one item of an open attempt for review before submitting; returns the flagged
    ids. A flag is the learner's own note: it never changes grading."""
    with transaction.atomic():
        attempt = _lock_own_attempt(attempt_id=attempt_id, user=user)
        if not attempt.is_open:
            raise AttemptClosed("This attempt has already been submitted; answers can no longer change.")
        try:
            qid = int(question_id)
        except (TypeError, ValueError):
            qid = None
        if qid not in gradable_question_ids(attempt.layout):
            raise InvalidAnswer(
                "This question is not part of the attempt.",
                field_errors={"question": ["Not in this attempt."]},
            )
        current = set(attempt.flagged or [])
        wanted = current | {qid} if flagged else current - {qid}
        if wanted != current:
            attempt.flagged = sorted(wanted)
            attempt.save(update_fields=["flagged"])
        return sorted(wanted)


def _answer_key(question: Question, choices: list[Choice]) -> grading.AnswerKey:
    if question.type in ("single", "multiple", "true_false"):
        return grading.AnswerKey(
            type=question.type,
            correct=frozenset(str(c.pk) for c in choices if c.correct),
            partial_credit=question.scoring == "partial",
        )
    if question.type == "ordering":
        return grading.AnswerKey(
            type="ordering", order=tuple(str(c.pk) for c in sorted(choices, key=lambda c: c.position))
        )
    if question.type == "matching":
        return grading.AnswerKey(type="matching", pairs={str(c.pk): str(c.pk) for c in choices})
    data = question.data
    if "value" in data:
        return grading.AnswerKey(
            type="numeric", value=Decimal(data["value"]), tolerance=Decimal(data["tolerance"])
        )
    return grading.AnswerKey(type="numeric", minimum=Decimal(data["min"]), maximum=Decimal(data["max"]))


@dataclass(frozen=True)
class _GradingKey:
    key: grading.AnswerKey
    critical: bool
    objective: str


# A question version never changes once stored (new content is a new version, the admin is read-only),
# so its answer key is the same for every attempt: keep it per process instead of reading the question
# and its choices again for every submit.
_GRADING_KEYS: dict[int, _GradingKey] = {}
_GRADING_KEYS_MAX = 20000


def forget_grading_keys(**_kwargs) -> None:
    """Drop the cached keys when this process writes content (connected to Question/Choice saves), so
    a test database that reuses ids, or an import in this process, never grades with an old key."""
    _GRADING_KEYS.clear()


def _grading_keys(ids: list[int]) -> dict[int, _GradingKey]:
    missing = [qid for qid in ids if qid not in _GRADING_KEYS]
    if missing:
        questions = list(Question.objects.filter(pk__in=missing))
        choices: dict[int, list[Choice]] = {}
        for choice in Choice.objects.filter(question_id__in=missing):
            choices.setdefault(choice.question_id, []).append(choice)
        if len(_GRADING_KEYS) + len(questions) > _GRADING_KEYS_MAX:
            _GRADING_KEYS.clear()
        for q in questions:
            _GRADING_KEYS[q.pk] = _GradingKey(_answer_key(q, choices.get(q.pk, [])), q.critical, q.objective)
    return {qid: _GRADING_KEYS[qid] for qid in ids}


def _saved_responses(attempt_id: int) -> dict[int, dict]:
    """question id -> saved response of one attempt: one query, no model instances."""
    table = Answer._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT question_id, response FROM {table} WHERE attempt_id = %s", [attempt_id])  # noqa: S608 - table name from the model
        rows = cursor.fetchall()
    return {qid: json.loads(r) if isinstance(r, str) else r for qid, r in rows}


_GRADED_FIELDS = [
    "state",
    "submitted_at",
    "closed_by",
    "points",
    "max_points",
    "score",
    "passed",
    "critical_missed",
]


def _store_grades(attempt: Attempt, graded: list[tuple[int, Decimal, str]], *, now: datetime) -> None:
    """Every item's points and reason (unanswered items inserted empty, saved answers keep their
    response) and the attempt's grade. The attempt row is locked FOR UPDATE, so no save (FOR KEY
    SHARE) can interleave; a conflict can only be a saved answer, whose response stays.

    On PostgreSQL one statement (the answers' upsert from arrays in a WITH, the attempt's UPDATE):
    one round trip and nothing for the ORM to compile. Elsewhere (SQLite, the embedded run) the ORM's
    bulk upsert and save do the same."""
    if connection.vendor != "postgresql":
        Answer.objects.bulk_create(
            [
                Answer(attempt_id=attempt.pk, question_id=q, response={}, saved_at=now, points=p, reason=r)
                for q, p, r in graded
            ],
            update_conflicts=True,
            unique_fields=["attempt", "question"],
            update_fields=["points", "reason"],
        )
        attempt.save(update_fields=_GRADED_FIELDS)
        return
    answers, attempts = Answer._meta.db_table, Attempt._meta.db_table
    sql = (
        f"WITH graded AS (INSERT INTO {answers} (attempt_id, question_id, response, saved_at, points, reason) "  # noqa: S608 - table names from the models
        "SELECT %s, g.q, '{}'::jsonb, %s, g.p, g.r FROM unnest(%s::bigint[], %s::numeric[], %s::text[]) AS g(q, p, r) "
        "ON CONFLICT (attempt_id, question_id) DO UPDATE SET points = excluded.points, reason = excluded.reason "
        f"RETURNING 1) UPDATE {attempts} SET state = %s, submitted_at = %s, closed_by = %s, points = %s, "
        "max_points = %s, score = %s, passed = %s, critical_missed = %s::jsonb WHERE id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                attempt.pk,
                now,
                [q for q, _, _ in graded],
                [p for _, p, _ in graded],
                [r for _, _, r in graded],
                attempt.state,
                attempt.submitted_at,
                attempt.closed_by,
                attempt.points,
                attempt.max_points,
                attempt.score,
                attempt.passed,
                json.dumps(attempt.critical_missed),
                attempt.pk,
            ],
        )


def _grade(attempt: Attempt, *, now: datetime, closed_by: str, on_graded: GradedHandler | None) -> None:
    """Grade an attempt already locked by the caller. Stores each item's points and reason, then calls
    `on_graded` in the same transaction: every way an attempt becomes graded passes through here."""
    ids = gradable_question_ids(attempt.layout)
    keys = _grading_keys(ids)
    responses = _saved_responses(attempt.pk)
    items = []
    graded: list[tuple[int, Decimal, str]] = []
    for qid in ids:
        key = keys[qid]
        result = grading.grade(key.key, responses.get(qid))
        items.append(grading.ItemResult(str(qid), result, key.critical, key.objective))
        points = Decimal(result.points.numerator) / Decimal(result.points.denominator)
        graded.append((qid, points.quantize(Decimal("0.0001")), result.reason))
    summary = grading.summarise(items, pass_mark_percent=attempt.quiz.pass_mark)
    attempt.state = AttemptState.SUBMITTED
    attempt.submitted_at = now
    attempt.closed_by = closed_by
    attempt.points = (Decimal(summary.points.numerator) / Decimal(summary.points.denominator)).quantize(
        Decimal("0.0001")
    )
    attempt.max_points = summary.max_points
    attempt.score = summary.score_percent
    attempt.passed = summary.passed
    attempt.critical_missed = [
        {"question": int(i.question_id), "objective": i.objective} for i in summary.critical_missed
    ]
    _store_grades(attempt, graded, now=now)
    if attempt.number == 1:  # item statistics count first attempts
        statistics.schedule_refresh(attempt.quiz_id)
    if on_graded is not None:
        on_graded(attempt)


@dataclass(frozen=True)
class SubmitOutcome:
    attempt: Attempt
    graded_now: bool  # False when the attempt was already graded (a repeat submit, a stale tab)


@transaction.atomic
def submit_attempt(
    *, attempt_id: int, user, now: datetime | None = None, on_graded: GradedHandler | None = None
) -> SubmitOutcome:
    """Grade once. A repeat submit returns the stored result. Past the deadline plus grace, it is graded
    as closed by the deadline with the answers saved in time."""
    now = now or timezone.now()
    attempt = _lock_own_attempt(attempt_id=attempt_id, user=user)
    if not attempt.is_open:
        return SubmitOutcome(attempt, graded_now=False)
    closed_by = Attempt.Closure.DEADLINE if _past_grace(attempt, now) else Attempt.Closure.LEARNER
    _grade(attempt, now=now, closed_by=closed_by, on_graded=on_graded)
    return SubmitOutcome(attempt, graded_now=True)


@transaction.atomic
def expire_attempt(
    *, attempt_id: int, now: datetime | None = None, on_graded: GradedHandler | None = None
) -> SubmitOutcome | None:
    """Grade one attempt if it is still open and past its deadline plus grace; otherwise do nothing."""
    now = now or timezone.now()
    attempt = (
        Attempt.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("quiz")
        .filter(pk=attempt_id, state=AttemptState.IN_PROGRESS)
        .order_by()
        .first()
    )
    if attempt is None or not _past_grace(attempt, now):
        return None
    _grade(attempt, now=now, closed_by=Attempt.Closure.DEADLINE, on_graded=on_graded)
    return SubmitOutcome(attempt, graded_now=True)


@transaction.atomic
def close_attempt(
    *, attempt_id: int, now: datetime | None = None, on_graded: GradedHandler | None = None
) -> SubmitOutcome:
    """Staff close an open attempt (the learner left, a proctoring problem): graded now with the answers
    saved so far. Who may close whose attempt is the caller's rule. A closed attempt is left as it is."""
    now = now or timezone.now()
    try:
        attempt = (
            Attempt.objects.select_for_update(of=("self",))
            .select_related("quiz")
            .order_by()
            .get(pk=attempt_id)
        )
    except Attempt.DoesNotExist:
        raise AttemptNotFound("No such attempt.") from None
    if not attempt.is_open:
        return SubmitOutcome(attempt, graded_now=False)
    _grade(attempt, now=now, closed_by=Attempt.Closure.STAFF, on_graded=on_graded)
    return SubmitOutcome(attempt, graded_now=True)


def overdue_attempt_ids(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    now = now or timezone.now()
    return list(
        Attempt.objects.filter(state=AttemptState.IN_PROGRESS, deadline__lt=now - GRACE)
        .order_by("deadline")
        .values_list("pk", flat=True)[:limit]
    )
