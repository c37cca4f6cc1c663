"""What every format shares: the imported question, our metadata carried as Moodle tags, and the final
check of a spec against the loader's own validation (quizzes.specs)."""

import html
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.text import slugify

from quizzes import specs

# Our fields Moodle has no place for travel as Moodle tags ("objective:DS-1"); Moodle keeps tags on
# import and export, so a bank survives a trip through Moodle.
TAG_FIELDS = ("objective", "difficulty", "critical", "clinically-significant", "scoring", "unit", "numeric")
SOURCE_PREFIX = "Source: "


@dataclass
class ImportedQuestion:
    where: str  # "line 12" (GIFT, CSV) or 'question "Name"' (XML): how the author finds it
    name: str = ""
    idnumber: str = ""
    category: str = ""
    spec: dict | None = None
    tags: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # conversions: what changed on the way in
    refusal: str = ""

    @property
    def status(self) -> str:
        if self.refusal:
            return "refused"
        return "converted" if self.notes else "created"

    def refuse(self, reason: str) -> "ImportedQuestion":
        self.refusal = reason
        self.spec = None
        return self


@dataclass
class ParseResult:
    questions: list[ImportedQuestion] = field(default_factory=list)
    error: str = ""  # the whole file is unreadable (malformed): nothing is imported


class Malformed(Exception):
    """A file that is not in the format it claims; the message names where."""


def parse_tags(texts) -> dict:
    tags = {}
    for text in texts:
        name, sep, value = str(text).strip().partition(":")
        name = name.strip().lower()
        if name in TAG_FIELDS:
            tags[name] = value.strip() if sep else "true"
    return tags


def spec_tags(spec: dict) -> list[str]:
    tags = [f"objective:{spec['objective']}", f"difficulty:{spec.get('difficulty', 2)}"]
    if spec.get("critical"):
        tags.append("critical:true")
    if spec.get("clinically_significant"):
        tags.append("clinically-significant:true")
    if spec["type"] == "multiple":
        tags.append(f"scoring:{spec.get('scoring', 'all_or_nothing')}")
    if spec["type"] == "numeric":
        if spec.get("unit"):
            tags.append(f"unit:{spec['unit']}")
        if "min" in spec["answer"]:
            tags.append("numeric:range")
    return tags


def general_feedback(spec: dict) -> str:
    """Our explanation, then the source on its own paragraph: Moodle shows both after the attempt,
    as we do at review."""
    return f"{spec['explanation'].strip()}\n\n{SOURCE_PREFIX}{spec['source'].strip()}"


def split_general_feedback(text: str) -> tuple[str, str]:
    text = (text or "").strip()
    head, sep, tail = text.rpartition("\n\n" + SOURCE_PREFIX)
    if sep and tail.strip():
        return head.strip(), tail.strip()
    if text.startswith(SOURCE_PREFIX):
        return "", text[len(SOURCE_PREFIX) :].strip()
    return text, ""


_PARAGRAPH_END = re.compile(r"</(p|div|h[1-6]|ul|ol|table)>", re.I)
_LINE_END = re.compile(r"</(li|tr)>|<br\s*/?>", re.I)


def html_to_text(text: str, notes: list[str]) -> str:
    """Moodle's HTML to the Markdown subset our renderer shows: paragraphs, bold, italics, lists.
    Anything else (images, tables, styles) is dropped and said so."""
    if not re.search(r"<[a-zA-Z/!]", text or ""):
        return html.unescape(text or "").strip()
    if re.search(r"<(img|table|iframe|video|audio|object)\b", text, re.I):
        notes.append("images, tables or media in HTML were dropped")
    out = re.sub(r"<(strong|b)>(.*?)</\1>", r"**\2**", text, flags=re.I | re.S)
    out = re.sub(r"<(em|i)>(.*?)</\1>", r"*\2*", out, flags=re.I | re.S)
    out = re.sub(r"<li[^>]*>", "- ", out, flags=re.I)
    out = _PARAGRAPH_END.sub("\n\n", out)
    out = _LINE_END.sub("\n", out)
    out = re.sub(r"<[^>]+>", "", out)
    out = html.unescape(out)
    out = re.sub(r"[ \t]+\n", "\n", out)
    return re.sub(r"\n{3,}", "\n\n", out).strip()


def fraction(value) -> Decimal | None:
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        return None
    return number if number.is_finite() else None


def equal_share(count: int) -> str:
    """100/count as Moodle lists its grade fractions (5 decimals, no trailing zeros)."""
    share = (Decimal(100) / count).quantize(Decimal("0.00001"))
    return format(share.normalize(), "f")


def choice_spec(q: ImportedQuestion, answers: list[dict], *, single: bool | None) -> dict | None:
    """Moodle multichoice (answers: text, fraction, feedback) onto our single or multiple choice.
    `single`: Moodle's own flag when the format has one (XML), None to decide from the fractions."""
    positive = [a for a in answers if a["fraction"] > 0]
    full = [a for a in answers if a["fraction"] >= 100]
    if not positive:
        q.refuse("no answer earns credit")
        return None
    if single is None:
        single = len(positive) == 1 and len(full) == 1
    if single:
        if len(full) != 1:
            q.refuse("a single-answer question needs exactly one answer worth 100%")
            return None
        if len(positive) > 1:
            q.notes.append("partial credit for near-miss answers dropped (single choice is all or nothing)")
        if any(a["fraction"] < 0 for a in answers):
            q.notes.append("penalties for wrong answers dropped (single choice is all or nothing)")
        choices = [{"text": a["text"], "correct": a is full[0], "feedback": a["feedback"]} for a in answers]
        return {"type": "single", "choices": choices}
    total = sum(a["fraction"] for a in positive)
    if abs(total - 100) > Decimal("0.1"):
        q.refuse(f"the correct answers' fractions add up to {total}%, not 100%")
        return None
    scoring = q.tags.get("scoring")
    if scoring not in ("partial", "all_or_nothing"):
        scoring = "partial"
        share = Decimal(100) / len(positive)
        even = all(abs(a["fraction"] - share) < Decimal("0.01") for a in positive)
        fair_penalty = all(
            abs(a["fraction"] + share) < Decimal("0.01") for a in answers if a["fraction"] <= 0
        )
        if not (even and fair_penalty):
            q.notes.append(
                "scored as partial credit: +1 per correct pick, -1 per wrong pick, divided by the number correct"
            )
    choices = [{"text": a["text"], "correct": a["fraction"] > 0, "feedback": a["feedback"]} for a in answers]
    return {"type": "multiple", "choices": choices, "scoring": scoring}


def multiple_fractions(spec: dict) -> list[str]:
    """Fractions Moodle grades our multiple-response question with: correct picks share 100%, a wrong
    pick costs one correct pick's share (partial), or everything (all or nothing is not a Moodle
    multichoice setting; -100% per wrong pick is the closest, and the tag keeps our rule)."""
    correct = sum(1 for c in spec["choices"] if c.get("correct"))
    share = equal_share(correct)
    wrong = f"-{share}" if spec.get("scoring") == "partial" else "-100"
    return [share if c.get("correct") else wrong for c in spec["choices"]]


def finish(
    q: ImportedQuestion,
    answer_spec: dict | None,
    *,
    stem: str,
    general: str,
    bank_key: str,
    index: int,
    defaults: dict,
) -> ImportedQuestion:
    """Fill our common fields from what the file gave and the import's defaults, then validate with
    the loader's rules; any problem refuses the question with that problem."""
    if q.refusal or answer_spec is None:
        return q
    explanation, source = split_general_feedback(general)
    if not source and defaults.get("source"):
        source = defaults["source"]
        q.notes.append("no source in the general feedback: used the import's --source")
    objective = q.tags.get("objective") or defaults.get("objective") or ""
    if not q.tags.get("objective") and objective:
        q.notes.append(f"no objective tag: used the import's --objective {objective}")
    spec = {
        "key": derive_key(q, bank_key, index),
        "type": answer_spec["type"],
        "objective": objective,
        "difficulty": _int_tag(q.tags.get("difficulty"), 2),
        "critical": q.tags.get("critical") == "true",
        "source": source,
        "stem": stem.strip(),
        "explanation": explanation,
    }
    if q.tags.get("clinically-significant") == "true":
        spec["clinically_significant"] = True
    spec.update({k: v for k, v in answer_spec.items() if k != "type"})
    missing = [
        label
        for label, value in (
            ("question text", spec["stem"]),
            ("general feedback (our explanation)", spec["explanation"]),
            ("source (a final 'Source: ...' paragraph of the general feedback, or --source)", spec["source"]),
            ("objective (an 'objective:ID' tag, or --objective)", spec["objective"]),
        )
        if not value
    ]
    if missing:
        return q.refuse("missing " + "; ".join(missing))
    problems = specs.validate_question(spec, where="")
    if problems:
        return q.refuse("; ".join(p.split(": ", 1)[-1] for p in problems))
    q.spec = spec
    return q


def _int_tag(value, default: int) -> int:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return default
    return number if number in (1, 2, 3) else default


def derive_key(q: ImportedQuestion, bank_key: str, index: int) -> str:
    for candidate in (q.idnumber, q.name):
        key = slugify(candidate or "")[:100].strip("-")
        if specs.KEY_RE.match(key):
            return key
    return f"{bank_key}-{index}"[:118]
