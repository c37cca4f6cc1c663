"""Question content as plain dicts (the shape of the YAML banks): validation, normalisation, hashing.

Pure: no ORM. `validate_question` returns every problem with its location so a content author can fix
a bank in one pass; the import service refuses a bank with any problem.
"""

import hashlib
import json
import re
from decimal import Decimal, InvalidOperation

TYPES = ("single", "multiple", "true_false", "ordering", "matching", "numeric", "scenario")
PART_TYPES = frozenset(TYPES) - {"scenario"}
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,118}$")
BANNED_SINGLE_CHOICES = re.compile(
    r"\b(all|none|both|neither) of (the|these) (above|answers|options)\b", re.I
)
COMMON = (
    "key",
    "type",
    "objective",
    "difficulty",
    "critical",
    "source",
    "stem",
    "explanation",
    "clinically_significant",
)
ALLOWED_FIELDS = {
    "single": {"choices"},
    "multiple": {"choices", "scoring"},
    "true_false": {"answer", "feedback_true", "feedback_false"},
    "ordering": {"items"},
    "matching": {"pairs", "extra_right"},
    "numeric": {"answer", "unit"},
    "scenario": {"parts"},
}


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _number(value) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def validate_question(spec, *, where: str = "", is_part: bool = False) -> list[str]:
    if not isinstance(spec, dict):
        return [f"{where}: a question must be a mapping"]
    key = spec.get("key")
    here = f"{where}{key or '?'}"
    problems: list[str] = []
    qtype = spec.get("type")
    if not isinstance(key, str) or not KEY_RE.match(key):
        problems.append(f"{here}: key must be lowercase letters, digits and hyphens")
    if qtype not in TYPES:
        return problems + [f"{here}: type must be one of {', '.join(TYPES)}"]
    if is_part and qtype == "scenario":
        problems.append(f"{here}: a scenario cannot contain another scenario")
    unknown = set(spec) - set(COMMON) - ALLOWED_FIELDS[qtype]
    if unknown:
        problems.append(f"{here}: unknown field(s) for {qtype}: {', '.join(sorted(unknown))}")
    for field in ("stem", "explanation", "source", "objective"):
        if not _text(spec.get(field)):
            problems.append(f"{here}: {field} is required")
    if spec.get("difficulty", 2) not in (1, 2, 3):
        problems.append(f"{here}: difficulty must be 1, 2 or 3")
    for flag in ("critical", "clinically_significant"):
        if not isinstance(spec.get(flag, False), bool):
            problems.append(f"{here}: {flag} must be true or false")

    if qtype in ("single", "multiple"):
        choices = spec.get("choices")
        if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
            problems.append(f"{here}: choices must be a list of {{text, correct, feedback}}")
            choices = []
        texts = [_text(c.get("text")) for c in choices]
        correct = [c for c in choices if c.get("correct") is True]
        if any(not t for t in texts):
            problems.append(f"{here}: every choice needs text")
        if len({t.lower() for t in texts}) != len(texts):
            problems.append(f"{here}: two choices have the same text")
        if any(not isinstance(c.get("correct", False), bool) for c in choices):
            problems.append(f"{here}: correct must be true or false")
        if qtype == "single":
            if not 3 <= len(choices) <= 6:
                problems.append(f"{here}: a single-choice question needs 3-6 choices, has {len(choices)}")
            if len(correct) != 1:
                problems.append(
                    f"{here}: a single-choice question needs exactly one correct choice, has {len(correct)}"
                )
            if any(BANNED_SINGLE_CHOICES.search(t) for t in texts):
                problems.append(f'{here}: "all/none of the above" is not allowed in single choice')
        else:
            if not 3 <= len(choices) <= 8:
                problems.append(f"{here}: a multiple-response question needs 3-8 choices, has {len(choices)}")
            if not correct:
                problems.append(f"{here}: a multiple-response question needs at least one correct choice")
            if spec.get("scoring", "all_or_nothing") not in ("all_or_nothing", "partial"):
                problems.append(f"{here}: scoring must be all_or_nothing or partial")
    elif qtype == "true_false":
        if not isinstance(spec.get("answer"), bool):
            problems.append(f"{here}: a true/false question needs answer: true or answer: false")
    elif qtype == "ordering":
        items = spec.get("items")
        if not isinstance(items, list) or not 3 <= len(items) <= 8:
            problems.append(f"{here}: an ordering question needs 3-8 items in the correct order")
        elif len({_text(i).lower() for i in items}) != len(items) or not all(_text(i) for i in items):
            problems.append(f"{here}: ordering items must be distinct, non-empty texts")
    elif qtype == "matching":
        pairs = spec.get("pairs")
        if not isinstance(pairs, list) or not 3 <= len(pairs) <= 8:
            problems.append(f"{here}: a matching question needs 3-8 pairs")
            pairs = []
        lefts = [_text(p.get("left")) if isinstance(p, dict) else "" for p in pairs]
        rights = [_text(p.get("right")) if isinstance(p, dict) else "" for p in pairs]
        if not all(lefts) or not all(rights):
            problems.append(f"{here}: every matching pair needs both a left and a right text")
        extra = spec.get("extra_right", [])
        if not isinstance(extra, list) or not all(_text(e) for e in extra):
            problems.append(f"{here}: extra_right must be a list of texts")
            extra = []
        all_rights = [r.lower() for r in rights] + [_text(e).lower() for e in extra]
        if len(set(lefts)) != len(lefts) or len(set(all_rights)) != len(all_rights):
            problems.append(f"{here}: matching texts must be distinct on each side")
    elif qtype == "numeric":
        answer = spec.get("answer")
        if not isinstance(answer, dict):
            problems.append(f"{here}: a numeric question needs answer: {{value, tolerance}} or {{min, max}}")
        elif "value" in answer:
            if _number(answer["value"]) is None or _number(answer.get("tolerance", 0)) is None:
                problems.append(f"{here}: numeric value and tolerance must be numbers")
            elif _number(answer.get("tolerance", 0)) < 0:
                problems.append(f"{here}: tolerance cannot be negative")
        elif "min" in answer and "max" in answer:
            low, high = _number(answer["min"]), _number(answer["max"])
            if low is None or high is None or low > high:
                problems.append(f"{here}: numeric range needs numbers with min <= max")
        else:
            problems.append(f"{here}: a numeric question needs answer: {{value, tolerance}} or {{min, max}}")
    elif qtype == "scenario":
        parts = spec.get("parts")
        if not isinstance(parts, list) or not 2 <= len(parts) <= 5:
            problems.append(f"{here}: a scenario needs 2-5 parts")
            parts = []
        for part in parts:
            problems += validate_question(part, where=f"{here} > ", is_part=True)
    return problems


def validate_bank(questions) -> list[str]:
    if not isinstance(questions, list) or not questions:
        return ["a bank needs a non-empty list of questions"]
    problems: list[str] = []
    seen: set[str] = set()
    for spec in questions:
        problems += validate_question(spec)
        if not isinstance(spec, dict):
            continue
        keys = [spec.get("key")] + [p.get("key") for p in spec.get("parts", []) or [] if isinstance(p, dict)]
        for key in keys:
            if key in seen:
                problems.append(f"{key}: duplicate question key")
            seen.add(key)
    return problems


def content_hash(spec: dict) -> str:
    canonical = json.dumps(spec, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def choice_rows(spec: dict) -> list[dict]:
    """The Choice rows a spec becomes: position, text, match_text, correct, feedback."""
    qtype = spec["type"]
    if qtype in ("single", "multiple"):
        return [
            {
                "text": _text(c["text"]),
                "match_text": "",
                "correct": bool(c.get("correct")),
                "feedback": _text(c.get("feedback")),
            }
            for c in spec["choices"]
        ]
    if qtype == "true_false":
        return [
            {
                "text": "True",
                "match_text": "",
                "correct": spec["answer"] is True,
                "feedback": _text(spec.get("feedback_true")),
            },
            {
                "text": "False",
                "match_text": "",
                "correct": spec["answer"] is False,
                "feedback": _text(spec.get("feedback_false")),
            },
        ]
    if qtype == "ordering":
        return [{"text": _text(i), "match_text": "", "correct": True, "feedback": ""} for i in spec["items"]]
    if qtype == "matching":
        return [
            {"text": _text(p["left"]), "match_text": _text(p["right"]), "correct": True, "feedback": ""}
            for p in spec["pairs"]
        ]
    return []


def question_data(spec: dict) -> dict:
    qtype = spec["type"]
    if qtype == "numeric":
        answer = spec["answer"]
        data = {"unit": _text(spec.get("unit"))}
        if "value" in answer:
            data.update(
                value=str(_number(answer["value"])), tolerance=str(_number(answer.get("tolerance", 0)))
            )
        else:
            data.update(min=str(_number(answer["min"])), max=str(_number(answer["max"])))
        return data
    if qtype == "matching":
        return {"extra_right": [_text(e) for e in spec.get("extra_right", [])]}
    return {}
