"""Turn quiz form fields into API-shaped answer bodies (the same shapes the JSON API takes).

Field names: `q-<id>` (single, true/false, multiple, numeric), `q-<id>-pos-<item id>` (ordering: the
position picked for each item) and `q-<id>-match-<left id>` (matching: the right-hand id picked).
"""


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
        positions = []
        for item in question["items"]:
            raw = data.get(f"{prefix}-pos-{item['id']}", "")
            if raw.isdigit():
                positions.append((int(raw), item["id"]))
        if not positions:
            return None
        return {"order": [item_id for _, item_id in sorted(positions)]}
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


def flatten(questions: list[dict]) -> list[dict]:
    """Answerable items in display order: scenario parts replace their scenario."""
    items = []
    for question in questions:
        items += question.get("parts") or [question]
    return items


def is_answered(question: dict) -> bool:
    response = question.get("response") or {}
    return any(v not in (None, "", [], {}) for v in response.values())
