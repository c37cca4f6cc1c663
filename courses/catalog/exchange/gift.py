"""Moodle GIFT format (https://docs.moodle.org/en/GIFT_format): read and write.

Escapes: `\\~ \\= \\# \\{ \\} \\:` are literal characters, `\\n` a line break, `\\\\` a backslash. Questions
are separated by blank lines; `//` lines are comments, where Moodle reads `[id:...]` (our key) and
`[tag:...]` (our metadata, see common.TAG_FIELDS); `$CATEGORY: a/b` starts a category (a bank).
"""

import re
from decimal import Decimal

from courses.catalog.exchange import common
from courses.catalog.exchange.common import ImportedQuestion, ParseResult

ESCAPES = {
    "\\": "\ue000",
    "~": "\ue001",
    "=": "\ue002",
    "#": "\ue003",
    "{": "\ue004",
    "}": "\ue005",
    ":": "\ue006",
}
RESTORE = {v: k for k, v in ESCAPES.items()}
FORMATS = re.compile(r"^\[(html|moodle|plain|markdown)\]", re.I)
TRUE_FALSE = re.compile(r"^(T|TRUE|F|FALSE)$", re.I)
ID_TAG = re.compile(r"\[(id|tag):([^\]]*)\]")


def _protect(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in ESCAPES:
                out.append(ESCAPES[nxt])
                i += 2
                continue
            if nxt == "n":
                out.append("\n")
                i += 2
                continue
        out.append(char)
        i += 1
    return "".join(out)


def _restore(text: str) -> str:
    return "".join(RESTORE.get(c, c) for c in text).strip()


def _blocks(text: str):
    """(first line number, comment lines, question lines, category) per question, in file order."""
    block, comments, start, category = [], [], 0, ""
    for number, line in enumerate(text.splitlines() + [""], start=1):
        stripped = line.strip()
        if stripped.startswith("//"):
            comments.append(stripped[2:])
            continue
        if not stripped:
            if block:
                yield start, comments, block, category
            block, comments = [], []
            continue
        if stripped.startswith("$CATEGORY:") and not block:
            category = stripped[len("$CATEGORY:") :].strip()
            comments = []
            continue
        if not block:
            start = number
        block.append(line)


def parse(text: str, *, bank_key: str, defaults: dict | None = None) -> ParseResult:
    defaults = defaults or {}
    result = ParseResult()
    if "\x00" in text:
        result.error = "this is not a GIFT text file (it contains binary data)"
        return result
    for index, (line, comments, lines, category) in enumerate(_blocks(text), start=1):
        q = ImportedQuestion(where=f"line {line}", category=category)
        for kind, value in ID_TAG.findall(" ".join(comments)):
            if kind == "id":
                q.idnumber = value.strip()
        q.tags = common.parse_tags(v for k, v in ID_TAG.findall(" ".join(comments)) if k == "tag")
        try:
            _question(q, "\n".join(lines), bank_key=bank_key, index=index, defaults=defaults)
        except common.Malformed as exc:
            q.refuse(str(exc))
        result.questions.append(q)
    if not result.questions:
        result.error = "no GIFT questions found"
    return result


def _question(q: ImportedQuestion, raw: str, *, bank_key: str, index: int, defaults: dict) -> None:
    text = _protect(raw).strip()
    if text.startswith("::"):
        end = text.find("::", 2)
        if end < 0:
            raise common.Malformed("the question name opens with :: but never closes")
        q.name = _restore(text[2:end])
        text = text[end + 2 :].lstrip()
    fmt = FORMATS.match(text)
    text_format = fmt.group(1).lower() if fmt else "moodle"
    if fmt:
        text = text[fmt.end() :]
    opening = text.find("{")
    if opening < 0:
        if "}" in text:
            raise common.Malformed("a closing } without an opening {")
        q.refuse("a description (text without an answer block) is not a question")
        return
    closing = text.find("}", opening)
    if closing < 0:
        raise common.Malformed("the answer block opens with { but never closes")
    if "{" in text[opening + 1 : closing] or "{" in text[closing + 1 :] or "}" in text[closing + 1 :]:
        raise common.Malformed("more than one answer block; escape literal braces as \\{ and \\}")
    before, body, after = text[:opening], text[opening + 1 : closing], text[closing + 1 :]
    if after.strip():
        q.notes.append("missing-word question: the blank is shown as _____ in the question text")
        stem = f"{before.rstrip()} _____ {after.lstrip()}"
    else:
        stem = before
    body, _, general = body.partition("####")

    def clean(value: str) -> str:
        value = _restore(value)
        return common.html_to_text(value, q.notes) if text_format == "html" else value

    answer_spec = _answers(q, body.strip(), clean)
    common.finish(
        q,
        answer_spec,
        stem=clean(stem),
        general=clean(general),
        bank_key=bank_key,
        index=index,
        defaults=defaults,
    )


def _split_answers(body: str) -> list[tuple[str, str]]:
    parts, marker, current = [], None, []
    for char in body:
        if char in "=~":
            if marker is not None:
                parts.append((marker, "".join(current)))
            elif "".join(current).strip():
                raise common.Malformed("answer text before the first = or ~")
            marker, current = char, []
        else:
            current.append(char)
    if marker is not None:
        parts.append((marker, "".join(current)))
    return parts


def _weight(text: str) -> tuple[Decimal | None, str]:
    match = re.match(r"^\s*%(-?[0-9.]+)%", text)
    if not match:
        return None, text
    value = common.fraction(match.group(1))
    if value is None:
        raise common.Malformed(f"the weight %{match.group(1)}% is not a number")
    return value, text[match.end() :]


def _answers(q: ImportedQuestion, body: str, clean) -> dict | None:
    if not body:
        return q.refuse("essay (an empty answer block) has no automatic grading here").spec
    if body.startswith("#"):
        return _numeric(q, body[1:])
    head, *feedback = body.split("#")
    if TRUE_FALSE.match(head.strip()):
        if len(feedback) > 2:
            raise common.Malformed("a true/false answer takes at most two feedbacks (#wrong#right)")
        answer = head.strip().upper().startswith("T")
        wrong, right = (clean(f) for f in (feedback + ["", ""])[:2])
        return {
            "type": "true_false",
            "answer": answer,
            "feedback_true": right if answer else wrong,
            "feedback_false": wrong if answer else right,
        }
    parts = _split_answers(body)
    if not parts:
        raise common.Malformed("the answer block has no = or ~ answers")
    if any("->" in text for _, text in parts):
        if any(marker != "=" or "->" not in text for marker, text in parts):
            raise common.Malformed("every matching answer is written =left -> right")
        pairs, extra = [], []
        for _, text in parts:
            text = text.split("#")[0]
            left, _, right = text.partition("->")
            if left.strip():
                pairs.append({"left": clean(left), "right": clean(right)})
            else:
                extra.append(clean(right))
        spec = {"type": "matching", "pairs": pairs}
        if extra:
            spec["extra_right"] = extra
        return spec
    if all(marker == "=" for marker, _ in parts):
        return q.refuse("short answer (typed text) is not supported; rewrite it as a choice question").spec
    answers = []
    for marker, text in parts:
        weight, text = _weight(text)
        text, _, feedback = text.partition("#")
        if weight is None:
            weight = Decimal(100) if marker == "=" else Decimal(0)
        answers.append({"text": clean(text), "fraction": weight, "feedback": clean(feedback)})
    # Moodle's own rule: an answer block with any `=` allows one answer; without, several.
    return common.choice_spec(q, answers, single=any(marker == "=" for marker, _ in parts))


def _numeric(q: ImportedQuestion, body: str) -> dict | None:
    body = body.strip()
    if body.startswith("=") or "~" in body:
        options = []
        for marker, text in _split_answers(body):
            if marker != "=":
                raise common.Malformed("numerical answers are written =value:tolerance")
            weight, text = _weight(text)
            options.append((Decimal(100) if weight is None else weight, text.split("#")[0]))
        best = [text for weight, text in options if weight >= 100]
        if len(best) != 1:
            return q.refuse("a numerical question needs exactly one answer worth 100%").spec
        if len(options) > 1:
            q.notes.append("answers worth partial credit dropped (numeric is all or nothing)")
        body = best[0]
    elif "#" in body:
        body, _, feedback = body.partition("#")
        if feedback.strip():
            q.notes.append("the numerical answer's feedback was dropped (use the general feedback)")
    answer = _numeric_answer(body.strip())
    spec = {"type": "numeric", "answer": answer}
    if q.tags.get("unit"):
        spec["unit"] = q.tags["unit"]
    return spec


def _numeric_answer(text: str) -> dict:
    text = _restore(text)
    if ".." in text:
        low, _, high = text.partition("..")
        low_n, high_n = common.fraction(low), common.fraction(high)
        if low_n is None or high_n is None:
            raise common.Malformed(f"the numerical range {text!r} is not min..max")
        return {"min": _num(low_n), "max": _num(high_n)}
    value, _, tolerance = text.partition(":")
    value_n, tol_n = common.fraction(value), common.fraction(tolerance or "0")
    if value_n is None or tol_n is None:
        raise common.Malformed(f"the numerical answer {text!r} is not value:tolerance")
    return {"value": _num(value_n), "tolerance": _num(tol_n)}


def _num(value: Decimal):
    return int(value) if value == value.to_integral_value() else float(value)


# --- writing --------------------------------------------------------------------------------------


def escape(text: str) -> str:
    out = str(text).strip().replace("\\", "\\\\")
    for char in "~=#{}:":
        out = out.replace(char, "\\" + char)
    return out.replace("\r\n", "\n").replace("\n", "\\n")


def write(questions: list[dict], *, category: str) -> tuple[str, list[str]]:
    """GIFT for our specs, and a message for each question GIFT cannot carry (ordering, scenario)."""
    lines = [f"$CATEGORY: $course$/top/{category}", ""]
    skipped = []
    for spec in questions:
        block = _write_answers(spec)
        if block is None:
            skipped.append(f"{spec['key']}: {spec['type']} has no GIFT equivalent (use Moodle XML)")
            continue
        tags = " ".join(f"[tag:{t}]" for t in common.spec_tags(spec))
        lines.append(f"// [id:{spec['key']}] {tags}")
        lines.append(f"::{escape(spec['key'])}::[markdown]{escape(spec['stem'])}{{")
        lines += block
        lines.append(f"####{escape(common.general_feedback(spec))}")
        lines.append("}")
        lines.append("")
    return "\n".join(lines), skipped


def _feedback(text: str | None) -> str:
    return f"#{escape(text)}" if (text or "").strip() else ""


def _write_answers(spec: dict) -> list[str] | None:
    qtype = spec["type"]
    if qtype == "single":
        return [
            f"{'=' if c.get('correct') else '~'}{escape(c['text'])}{_feedback(c.get('feedback'))}"
            for c in spec["choices"]
        ]
    if qtype == "multiple":
        return [
            f"~%{w}%{escape(c['text'])}{_feedback(c.get('feedback'))}"
            for w, c in zip(common.multiple_fractions(spec), spec["choices"], strict=True)
        ]
    if qtype == "true_false":
        answer = spec["answer"]
        wrong = spec.get("feedback_false") if answer else spec.get("feedback_true")
        right = spec.get("feedback_true") if answer else spec.get("feedback_false")
        fb = f"#{escape(wrong or '')}#{escape(right or '')}" if (wrong or right) else ""
        return [f"{'TRUE' if answer else 'FALSE'}{fb}"]
    if qtype == "matching":
        out = [f"={escape(p['left'])} -> {escape(p['right'])}" for p in spec["pairs"]]
        return out + [f"= -> {escape(e)}" for e in spec.get("extra_right") or []]
    if qtype == "numeric":
        answer = spec["answer"]
        if "min" in answer:
            return [f"#{answer['min']}..{answer['max']}"]
        return [f"#{answer['value']}:{answer.get('tolerance', 0)}"]
    return None
