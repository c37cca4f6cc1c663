"""The attempt layout, in one place: the frozen order of an attempt's questions and, per item, its
choices behind per-attempt opaque ids (so a response never names a stored choice). Pure: no database.

`assemble_layout` is used by `quizzes.services` when an attempt starts and by the demo organisation
generator (which draws from questions it holds in memory); `gradable_question_ids` is the list of items
that earn a point, used by grading, the learner's view and the reports."""

import secrets
from collections.abc import Callable


def random_token(used: set[str]) -> str:
    """A fresh opaque id for a choice or a matching side, unique within the attempt."""
    while True:
        token = secrets.token_hex(5)
        if token not in used:
            used.add(token)
            return token


def item_layout(question, choices: list, rng, token: Callable[[], str], *, shuffle: bool) -> dict:
    """One item: its type and its choices (or matching sides) in the order shown, each behind a token."""
    item = {"type": question.type}
    shown = list(choices)
    if question.type in ("ordering", "matching") or (shuffle and question.type in ("single", "multiple")):
        # Ordering and matching are always shuffled: their stored order is the key.
        rng.shuffle(shown)
    if question.type in ("single", "multiple", "true_false", "ordering"):
        item["choices"] = [[token(), c.pk] for c in shown]
    elif question.type == "matching":
        item["left"] = [[token(), c.pk] for c in shown]
        right = [[token(), c.pk] for c in shown]
        right += [[token(), f"x{i}"] for i in range(len(question.data.get("extra_right", [])))]
        rng.shuffle(right)
        item["right"] = right
    return item


def assemble_layout(
    questions: list,
    parts_by_parent: dict[int, list],
    choices: dict[int, list],
    rng,
    *,
    shuffle_choices: bool,
    token: Callable[[], str] | None = None,
) -> dict:
    """The layout of drawn `questions` (in the order given): `{"order": [ids], "items": {id: item}}`,
    a scenario's item listing its parts, which get items of their own. `token` makes the opaque ids
    (default: random, unique within the layout)."""
    if token is None:
        used: set[str] = set()

        def token() -> str:
            return random_token(used)

    items: dict[str, dict] = {}
    for question in questions:
        items[str(question.pk)] = item_layout(
            question, choices.get(question.pk, []), rng, token, shuffle=shuffle_choices
        )
        if question.type == "scenario":
            parts = parts_by_parent.get(question.pk, [])
            items[str(question.pk)]["parts"] = [p.pk for p in parts]
            for part in parts:
                items[str(part.pk)] = item_layout(
                    part, choices.get(part.pk, []), rng, token, shuffle=shuffle_choices
                )
    return {"order": [q.pk for q in questions], "items": items}


def gradable_question_ids(layout: dict) -> list[int]:
    """Every item that earns a point: top-level questions and scenario parts, never the scenario itself."""
    ids = []
    for qid in layout["order"]:
        item = layout["items"][str(qid)]
        ids += item["parts"] if item["type"] == "scenario" else [qid]
    return ids
