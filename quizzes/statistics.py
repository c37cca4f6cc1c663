"""Item statistics per question version, from first attempts only (Moodle's convention: later attempts
are practised, not measured). Pure computation plus one selector with a fixed number of queries."""

import math
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.db.models import Prefetch

from .models import Answer, Attempt, AttemptState, Choice, Question, Quiz

MIN_RESPONSES_TO_FLAG = 20
TOO_EASY = 0.90
TOO_HARD = 0.30
GROUP_SHARE = 0.27


def pearson(xs: list[float], ys: list[float]) -> float | None:
    n = len(xs)
    if n < 3:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return sxy / math.sqrt(sxx * syy)


@dataclass
class ItemStats:
    question_id: int
    key: str
    version: int
    objective: str
    type: str
    responses: int
    facility: float | None
    discrimination_corrected: float | None  # corrected item-total correlation
    discrimination_groups: float | None  # upper 27% facility minus lower 27% facility
    choice_picks: dict[int, int] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    stem: str = ""  # what the question asks (Markdown as written), so a manager reads the item, not its key
    choices: list[tuple[str, int, bool]] = field(default_factory=list)  # (text, picks, correct) in order


def compute_item_stats(
    attempt_totals: dict[int, float], item_scores: dict[int, dict[int, float]]
) -> dict[int, dict]:
    """attempt_totals: attempt -> total points; item_scores: question -> {attempt: points}. Pure."""
    ranked = sorted(attempt_totals, key=lambda a: attempt_totals[a])
    group = max(1, round(len(ranked) * GROUP_SHARE)) if ranked else 0
    lower, upper = set(ranked[:group]), set(ranked[-group:]) if group else set()
    results = {}
    for qid, by_attempt in item_scores.items():
        xs = list(by_attempt.values())
        rest = [attempt_totals[a] - p for a, p in by_attempt.items()]
        up = [p for a, p in by_attempt.items() if a in upper]
        low = [p for a, p in by_attempt.items() if a in lower]
        results[qid] = {
            "responses": len(xs),
            "facility": sum(xs) / len(xs) if xs else None,
            "discrimination_corrected": pearson(xs, rest),
            "discrimination_groups": (sum(up) / len(up) - sum(low) / len(low)) if up and low else None,
        }
    return results


def flags_for(stats: dict, *, min_responses: int = MIN_RESPONSES_TO_FLAG) -> list[str]:
    if stats["responses"] < min_responses or stats["facility"] is None:
        return []
    flags = []
    if stats["facility"] >= TOO_EASY:
        flags.append("too_easy")
    if stats["facility"] <= TOO_HARD:
        flags.append("too_hard")
    disc = stats["discrimination_corrected"]
    if disc is not None and disc < 0:
        flags.append("negative_discrimination")
    return flags


def quiz_item_statistics(
    *, quiz: Quiz, min_responses: int = MIN_RESPONSES_TO_FLAG, users=None
) -> list[ItemStats]:
    """Four queries whatever the number of attempts or questions. `users` (a queryset) restricts the
    statistics to some learners, e.g. a supervisor's staff."""
    first_attempts = Attempt.objects.filter(quiz=quiz, number=1, state=AttemptState.SUBMITTED)
    if users is not None:
        first_attempts = first_attempts.filter(user__in=users)
    attempts = dict(first_attempts.values_list("pk", "points"))
    totals = {pk: float(points or 0) for pk, points in attempts.items()}
    item_scores: dict[int, dict[int, float]] = defaultdict(dict)
    picks: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for attempt_id, question_id, points, response in Answer.objects.filter(
        attempt__in=list(totals)
    ).values_list("attempt_id", "question_id", "points", "response"):
        item_scores[question_id][attempt_id] = float(points or 0)
        for choice_id in (response or {}).get("choice_ids", []) or []:
            picks[question_id][int(choice_id)] += 1
    questions = Question.objects.filter(pk__in=list(item_scores)).prefetch_related(
        Prefetch("choices", queryset=Choice.objects.order_by("position"))
    )
    computed = compute_item_stats(totals, item_scores)
    out = []
    for q in questions:
        stats = computed[q.pk]
        out.append(
            ItemStats(
                question_id=q.pk,
                key=q.key,
                version=q.version,
                objective=q.objective,
                type=q.type,
                responses=stats["responses"],
                facility=stats["facility"],
                discrimination_corrected=stats["discrimination_corrected"],
                discrimination_groups=stats["discrimination_groups"],
                choice_picks={c.pk: picks[q.pk].get(c.pk, 0) for c in q.choices.all()},
                flags=flags_for(stats, min_responses=min_responses),
                stem=q.stem,
                choices=[
                    (
                        f"{c.text} → {c.match_text}" if c.match_text else c.text,
                        picks[q.pk].get(c.pk, 0),
                        c.correct,
                    )
                    for c in q.choices.all()
                ],
            )
        )
    return sorted(out, key=lambda s: (s.key, s.version))


def objective_mastery(stats: list[ItemStats]) -> list[tuple[str, float, int]]:
    """(objective, mean facility weighted by responses, responses), weakest first: what to re-teach."""
    weighted: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    for s in stats:
        if s.facility is not None:
            weighted[s.objective][0] += s.facility * s.responses
            weighted[s.objective][1] += s.responses
    rows = [(obj, total / n, n) for obj, (total, n) in weighted.items() if n]
    return sorted(rows, key=lambda r: r[1])


# --- stored statistics -------------------------------------------------------------------------------

# Up to this many answers a view recomputes on the spot (a few milliseconds); above it, the stored
# snapshot is served and a task refreshes it after grading.
ON_DEMAND_MAX_ANSWERS = 5000
ALL = "all"
REFRESH_DELAY_SECONDS = 60  # gradings within a minute share one refresh


def _to_json(stats: list[ItemStats]) -> list[dict]:
    return [{**asdict(s), "choice_picks": [[k, v] for k, v in s.choice_picks.items()]} for s in stats]


def _from_json(rows: list[dict]) -> list[ItemStats]:
    out = []
    for row in rows:
        row = {**row, "choice_picks": {int(k): v for k, v in row["choice_picks"]}}
        if "choices" in row:
            row["choices"] = [tuple(c) for c in row["choices"]]
        out.append(ItemStats(**row))
    return out


def _scope_users(scope: str):
    """The learners of a stored scope: everyone for "all", else resolved by the reports' own rule
    (settings.QUIZ_STATISTICS_SCOPE_USERS), so the quiz engine imports no app."""
    if scope == ALL:
        return None
    from django.conf import settings
    from django.utils.module_loading import import_string

    return import_string(settings.QUIZ_STATISTICS_SCOPE_USERS)(scope)


def refresh_item_statistics(*, quiz_id: int, scope: str = ALL, users=None, now=None):
    """Recompute and store the statistics of one quiz over one scope (first attempts only)."""
    from django.utils import timezone

    from .models import ItemStatisticsSnapshot

    quiz = Quiz.objects.get(pk=quiz_id)
    stats = quiz_item_statistics(quiz=quiz, users=users if users is not None else _scope_users(scope))
    snapshot, _ = ItemStatisticsSnapshot.objects.update_or_create(
        quiz=quiz,
        scope=scope,
        defaults={
            "computed_at": now or timezone.now(),
            "answers": sum(s.responses for s in stats),
            "items": _to_json(stats),
        },
    )
    return snapshot


def refresh_all_scopes(*, quiz_id: int) -> int:
    """What the task does after grading: every stored scope of the quiz, "all" always. Returns answers."""
    from .models import ItemStatisticsSnapshot

    scopes = {ALL, *ItemStatisticsSnapshot.objects.filter(quiz_id=quiz_id).values_list("scope", flat=True)}
    return sum(refresh_item_statistics(quiz_id=quiz_id, scope=scope).answers for scope in sorted(scopes))


def stored_item_statistics(*, quiz: Quiz, scope: str = ALL, users=None) -> tuple[list[ItemStats], datetime]:
    """(statistics of the scope's learners, when computed): the stored snapshot when the scope has many
    answers, recomputed on the spot (and stored) when it has few or none was stored yet. `users` (the
    scope's learners, a queryset) saves resolving the scope again."""
    from .models import ItemStatisticsSnapshot

    snapshot = ItemStatisticsSnapshot.objects.filter(quiz=quiz, scope=scope).first()
    if snapshot is None or snapshot.answers <= ON_DEMAND_MAX_ANSWERS:
        snapshot = refresh_item_statistics(quiz_id=quiz.pk, scope=scope, users=users)
    return _from_json(snapshot.items), snapshot.computed_at


REFRESH_TASK = "quizzes.tasks.refresh_item_statistics_task"
_seen_scheduled: dict[int, float] = {}  # quiz -> when this process scheduled its refresh (monotonic)


def schedule_refresh(quiz_id: int) -> None:
    """After grading a first attempt: one refresh task per quiz per REFRESH_DELAY_SECONDS, run that much
    later (well after the grading commits; a rolled-back grading only costs a recomputation). A broker
    or cache outage only delays the numbers. Runs without a broker (tests, the embedded run) recompute
    on view instead: running the task eagerly would put the whole computation inside the submit."""
    import logging

    from django.conf import settings
    from django.core.cache import cache

    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    # This process scheduled the quiz's refresh less than half a window ago: that refresh runs at least
    # REFRESH_DELAY_SECONDS / 2 after this grading commits and includes it, so the shared cache need not
    # be asked again (a Redis round trip inside every submit's transaction).
    now = time.monotonic()
    if now - _seen_scheduled.get(quiz_id, -REFRESH_DELAY_SECONDS) < REFRESH_DELAY_SECONDS / 2:
        return
    try:
        added = cache.add(f"itemstats:scheduled:{quiz_id}", 1, timeout=REFRESH_DELAY_SECONDS)
        if added:
            _seen_scheduled[quiz_id] = now
            from celery import current_app

            # By name, like core.queue: the tasks module imports this one, never the reverse.
            current_app.send_task(REFRESH_TASK, args=[quiz_id], countdown=REFRESH_DELAY_SECONDS)
    except Exception:
        logging.getLogger(__name__).exception("could not schedule the item statistics of quiz %s", quiz_id)
