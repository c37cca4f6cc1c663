"""Turn quiz form fields into API-shaped answer bodies (the same shapes the JSON API takes).

Field names: `q-<id>` (single, true/false, multiple, numeric), `q-<id>-pos-<item id>` (ordering: the
position picked for each item), `q-<id>-match-<left id>` (matching: the right-hand id picked) and
`flag-<id>` with `flag-<id>-present` (the learner's "review this again" mark).
"""


class FormAnswerError(ValueError):
    """The form's fields for one question cannot be turned into an answer the learner chose."""

    def __init__(self, message: str, *, positions: dict[str, str]):
        super().__init__(message)
        self.message = message
        self.positions = positions


def ordering_positions(question: dict, data) -> dict[str, str]:
    """The position typed for each step, as posted ("" when none)."""
    prefix = f"q-{question['id']}"
    return {item["id"]: (data.get(f"{prefix}-pos-{item['id']}") or "").strip() for item in question["items"]}


def response_from_form(question: dict, data) -> dict | None:
    """None when the form carries nothing for this question (leave the saved answer alone)."""
    qid = question["id"]
    qtype = question["type"]
    prefix = f"q-{qid}"
    if qtype in ("single", "true_false"):
        value = data.get(prefix)
        return {"choice_ids": [value]} if value else None
    if qtype == "multiple":
        if f"{prefix}-present" not in data and prefix not in data:
            return None
        return {"choice_ids": [v for v in data.getlist(prefix) if v]}
    if qtype == "numeric":
        if prefix not in data:
            return None
        value = data.get(prefix, "").strip()
        return {"value": value or None}
    if qtype == "ordering":
        return _ordering_response(question, data)
    if qtype == "matching":
        pairs = {}
        seen = False
        for left in question["left"]:
            key = f"{prefix}-match-{left['id']}"
            if key in data:
                seen = True
                if data.get(key):
                    pairs[left["id"]] = data.get(key)
        return {"pairs": pairs} if seen else None
    return None


def _ordering_response(question: dict, data) -> dict | None:
    """Every step needs its own position before an order is saved: two steps in one place, or a step
    left without one, would otherwise be saved as an order the learner never chose."""
    posted = ordering_positions(question, data)
    count = len(posted)
    if not any(posted.values()):
        return None
    valid = {str(n) for n in range(1, count + 1)}
    if any(value and value not in valid for value in posted.values()):
        raise FormAnswerError(f"Positions go from 1 to {count}.", positions=posted)
    taken: dict[str, int] = {}
    for value in posted.values():
        if value:
            taken[value] = taken.get(value, 0) + 1
    twice = sorted((int(v) for v, n in taken.items() if n > 1))
    if twice:
        which = " and ".join(str(n) for n in twice)
        raise FormAnswerError(
            f"Position {which} is given to more than one step. Give each step its own position; "
            "this order is not saved yet.",
            positions=posted,
        )
    missing = sum(1 for value in posted.values() if not value)
    if missing:
        raise FormAnswerError(
            f"{missing} of {count} steps have no position yet. Give every step its own position; "
            "this order is not saved yet.",
            positions=posted,
        )
    return {"order": [item_id for item_id, _ in sorted(posted.items(), key=lambda kv: int(kv[1]))]}


def review_flag(question: dict, data) -> bool | None:
    """The posted "flag for review" state, or None when the form does not carry it."""
    if f"flag-{question['id']}-present" not in data:
        return None
    return bool(data.get(f"flag-{question['id']}"))


def flatten(questions: list[dict]) -> list[dict]:
    """Answerable items in display order: scenario parts replace their scenario."""
    items = []
    for question in questions:
        items += question.get("parts") or [question]
    return items
