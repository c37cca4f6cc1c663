"""Browser forms to item data (the content-file shape) and back. Values that do not parse are kept as
typed, so the loader's own validation names the problem next to the field instead of a form error."""

import yaml

from courses.catalog.loader import QUIZ_FIELDS

MAX_CHOICES = 8
QUIZ_CHOICES = {
    "grading_policy": ("highest", "last", "first", "average"),
    "review_policy": ("none", "score", "wrong", "full", "objectives"),
    "layout": ("one_per_page", "all_on_one_page"),
}
TYPES = (
    ("single", "Single choice"),
    ("multiple", "Multiple response"),
    ("true_false", "True / false"),
    ("ordering", "Ordering"),
    ("matching", "Matching"),
    ("numeric", "Numeric"),
    ("scenario", "Scenario (case with 2-5 parts)"),
)
# Answer data of the types without a row editor, edited as the bank file's YAML (FORMAT.md).
YAML_ANSWER_FIELDS = {"scenario": ("parts",)}
MAX_PAIRS = 8


def _int(value, *, blank=None):
    value = (value or "").strip()
    if value == "":
        return blank
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return value


def _lines(value) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


def course_from_post(post, current: dict) -> dict:
    data = dict(current)
    for name in ("title", "summary", "provider_approval_number", "accrediting_statement"):
        data[name] = (post.get(name) or "").strip()
    data["ce_hours"] = _int(post.get("ce_hours"), blank=0)
    data["validity_months"] = _int(post.get("validity_months"))
    data["minimum_lesson_percent"] = _int(post.get("minimum_lesson_percent"), blank=0)
    data["open_enrollment"] = post.get("open_enrollment") == "on"
    objectives = {}
    for line in _lines(post.get("objectives")):
        key, _, text = line.partition(":")
        objectives[key.strip()] = text.strip()
    data["objectives"] = objectives
    return data


def objectives_text(objectives: dict) -> str:
    return "\n".join(f"{k}: {v}" for k, v in objectives.items())


def draw_text(draw: list[dict]) -> str:
    lines = []
    for rule in draw:
        for kind in ("question", "objective", "bank"):
            if rule.get(kind):
                lines.append(f"{kind} {rule[kind]} {rule.get('count', 1)}")
    return "\n".join(lines)


def parse_draw(text: str) -> tuple[list[dict], list[str]]:
    rules, problems = [], []
    for n, line in enumerate(_lines(text), start=1):
        parts = line.split()
        if len(parts) != 3 or parts[0] not in ("question", "objective", "bank") or not parts[2].isdigit():
            problems.append(f"line {n}: write 'bank KEY N', 'objective ID N' or 'question KEY N'")
            continue
        rules.append({parts[0]: parts[1], "count": int(parts[2])})
    return rules, problems


def quiz_from_post(post, current: dict) -> tuple[dict, list[str]]:
    quiz = dict(current)
    for name, expected in QUIZ_FIELDS.items():
        if expected is bool:
            quiz[name] = post.get(name) == "on"
        elif name == "title" or name in QUIZ_CHOICES:
            quiz[name] = (post.get(name) or "").strip()
        else:
            nullable = isinstance(expected, tuple)  # attempt_limit, time_limit_minutes: blank is "none"
            quiz[name] = _int(post.get(name), blank=None if nullable else 0)
    quiz["draw"], problems = parse_draw(post.get("draw"))
    return quiz, problems


def module_from_post(post, current: dict) -> tuple[dict, list[str]]:
    quiz, problems = quiz_from_post(post, current["quiz"])
    return {**current, "title": (post.get("module_title") or "").strip(), "quiz": quiz}, problems


def lesson_from_post(post, current: dict) -> dict:
    return {
        **current,
        "title": (post.get("title") or "").strip(),
        "minutes": _int(post.get("minutes")),
        "objectives": post.getlist("objectives"),
        "sources": _lines(post.get("sources")),
        "clinically_significant": post.get("clinically_significant") == "on",
        "body": (post.get("body") or "").replace("\r\n", "\n").strip(),
    }


def question_from_post(post, current: dict) -> tuple[dict, list[str]]:
    """(spec, problems of the form itself, e.g. YAML that does not parse)."""
    qtype = post.get("type") or current.get("type")
    spec = {
        "key": current["key"],
        "type": qtype,
        "objective": (post.get("objective") or "").strip(),
        "difficulty": _int(post.get("difficulty"), blank=2),
        "critical": post.get("critical") == "on",
        "source": (post.get("source") or "").strip(),
        "stem": (post.get("stem") or "").replace("\r\n", "\n").strip(),
        "explanation": (post.get("explanation") or "").replace("\r\n", "\n").strip(),
    }
    if post.get("clinically_significant") == "on":
        spec["clinically_significant"] = True
    problems = []
    if qtype in ("single", "multiple"):
        choices = []
        for i in range(MAX_CHOICES):
            text = (post.get(f"choice_{i}_text") or "").strip()
            if not text:
                continue
            choice = {"text": text, "correct": post.get(f"choice_{i}_correct") == "on"}
            feedback = (post.get(f"choice_{i}_feedback") or "").strip()
            if feedback:
                choice["feedback"] = feedback
            choices.append(choice)
        spec["choices"] = choices
        if qtype == "multiple":
            spec["scoring"] = post.get("scoring") or "all_or_nothing"
    elif qtype == "true_false":
        spec["answer"] = post.get("answer") == "true"
        for name in ("feedback_true", "feedback_false"):
            if (post.get(name) or "").strip():
                spec[name] = post.get(name).strip()
    elif qtype == "ordering":
        spec["items"] = _lines(post.get("items"))
    elif qtype == "matching":
        pairs = []
        for i in range(MAX_PAIRS):
            left, right = (
                (post.get(f"pair_{i}_left") or "").strip(),
                (post.get(f"pair_{i}_right") or "").strip(),
            )
            if left or right:
                pairs.append({"left": left, "right": right})
        spec["pairs"] = pairs
        extra = _lines(post.get("extra_right"))
        if extra:
            spec["extra_right"] = extra
    elif qtype == "numeric":
        if post.get("numeric_mode") == "range":
            spec["answer"] = {"min": _int(post.get("min")), "max": _int(post.get("max"))}
        else:
            spec["answer"] = {
                "value": _int(post.get("value")),
                "tolerance": _int(post.get("tolerance"), blank=0),
            }
        if (post.get("unit") or "").strip():
            spec["unit"] = post.get("unit").strip()
    elif qtype in YAML_ANSWER_FIELDS:
        try:
            extra = yaml.safe_load(post.get("answer_yaml") or "") or {}
        except yaml.YAMLError as exc:
            extra = {}
            problems.append(f"the answer data is not valid YAML ({str(exc).splitlines()[0]})")
        if not isinstance(extra, dict):
            extra, problems = {}, problems + ["the answer data must be YAML fields, e.g. items: [...]"]
        for name in YAML_ANSWER_FIELDS[qtype]:
            if name in extra:
                spec[name] = extra[name]
        unknown = set(extra) - set(YAML_ANSWER_FIELDS[qtype])
        if unknown:
            problems.append(f"unknown answer field(s) for {qtype}: {', '.join(sorted(unknown))}")
    return spec, problems


def answer_yaml(spec: dict) -> str:
    fields = {name: spec[name] for name in YAML_ANSWER_FIELDS.get(spec.get("type"), ()) if name in spec}
    return yaml.safe_dump(fields, sort_keys=False, allow_unicode=True, width=100) if fields else ""


def choice_rows(spec: dict) -> list[dict]:
    rows = list(spec.get("choices") or []) if spec.get("type") in ("single", "multiple") else []
    rows = [dict(r) for r in rows if isinstance(r, dict)]
    return rows + [{"text": "", "correct": False} for _ in range(MAX_CHOICES - len(rows))]


def pair_rows(spec: dict) -> list[dict]:
    rows = (
        [dict(p) for p in spec.get("pairs") or [] if isinstance(p, dict)]
        if spec.get("type") == "matching"
        else []
    )
    return rows + [{"left": "", "right": ""} for _ in range(MAX_PAIRS - len(rows))]
