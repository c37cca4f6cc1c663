"""Moodle XML format (https://docs.moodle.org/en/Moodle_XML_format): read and write.

Read with defusedxml (no DTDs, no entity expansion, no external resources). Texts are written as CDATA
(`]]>` split across two sections); our Markdown is declared `format="markdown"`; HTML from Moodle is
converted to that subset. Our key is Moodle's `idnumber` (and the name); our metadata travels as tags.
"""

from decimal import Decimal
from xml.etree.ElementTree import ParseError  # noqa: S405 - only the exception; parsing is defusedxml
from xml.sax.saxutils import quoteattr  # noqa: S406 - escaping output, not parsing

import defusedxml
from defusedxml.ElementTree import fromstring

from courses.catalog.exchange import common
from courses.catalog.exchange.common import ImportedQuestion, ParseResult

REFUSED_TYPES = {
    "shortanswer": "short answer (typed text) is not supported; rewrite it as a choice question",
    "essay": "essay has no automatic grading here",
    "multianswer": "embedded answers (cloze) are not supported; split it into separate questions",
    "description": "a description is not a question",
    "calculated": "calculated questions are not supported",
    "calculatedsimple": "calculated questions are not supported",
    "calculatedmulti": "calculated questions are not supported",
    "randomsamatch": "random short-answer matching is not supported",
    "ddwtos": "drag and drop into text is not supported",
    "gapselect": "select missing words is not supported",
}
SUPPORTED = ("multichoice", "truefalse", "matching", "numerical", "ordering")


def _text(element, path: str = "text") -> str:
    if element is None:
        return ""
    found = element.find(path) if path else element
    return (found.text or "") if found is not None else ""


def _formatted(element, notes: list[str]) -> str:
    """A Moodle text element (questiontext, feedback, answer...) as our Markdown."""
    if element is None:
        return ""
    raw = _text(element)
    if element.get("format", "html") == "html":
        return common.html_to_text(raw, notes)
    return raw.strip()


def parse(data: bytes | str, *, bank_key: str, defaults: dict | None = None) -> ParseResult:
    defaults = defaults or {}
    result = ParseResult()
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except ParseError as exc:
        result.error = f"not well-formed XML ({exc})"
        return result
    except defusedxml.DefusedXmlException as exc:
        result.error = f"refused: the XML declares a DTD or entities ({type(exc).__name__})"
        return result
    except ValueError as exc:
        result.error = f"not readable XML ({exc})"
        return result
    if root.tag != "quiz":
        result.error = f"the root element is <{root.tag}>, not Moodle's <quiz>"
        return result
    category, index = "", 0
    for element in root:
        if element.tag != "question":
            continue
        qtype = element.get("type", "")
        if qtype == "category":
            category = _text(element, "category/text").strip()
            continue
        index += 1
        name = _text(element, "name/text").strip()
        q = ImportedQuestion(where=f'question "{name}"' if name else f"question {index}", name=name)
        q.category = category
        q.idnumber = _text(element, "idnumber").strip() if element.find("idnumber") is not None else ""
        q.tags = common.parse_tags(_text(tag) for tag in element.findall("tags/tag"))
        try:
            answer_spec = _answers(q, element, qtype)
        except common.Malformed as exc:
            q.refuse(str(exc))
            answer_spec = None
        common.finish(
            q,
            answer_spec,
            stem=_formatted(element.find("questiontext"), q.notes),
            general=_formatted(element.find("generalfeedback"), q.notes),
            bank_key=bank_key,
            index=index,
            defaults=defaults,
        )
        result.questions.append(q)
    if not result.questions:
        result.error = "no questions in the file"
    return result


def _fraction(answer) -> Decimal:
    value = common.fraction(answer.get("fraction", "0"))
    if value is None:
        raise common.Malformed(f"fraction {answer.get('fraction')!r} is not a number")
    return value


def _answers(q: ImportedQuestion, element, qtype: str) -> dict | None:
    if qtype in REFUSED_TYPES:
        return q.refuse(REFUSED_TYPES[qtype]).spec
    if qtype not in SUPPORTED:
        return q.refuse(f"question type {qtype or '(none)'} is not supported").spec
    answers = element.findall("answer")
    if qtype == "multichoice":
        single = _text(element, "single").strip().lower() in ("true", "1")
        rows = [
            {
                "text": _formatted(a, q.notes),
                "fraction": _fraction(a),
                "feedback": _formatted(a.find("feedback"), q.notes),
            }
            for a in answers
        ]
        return common.choice_spec(q, rows, single=single)
    if qtype == "truefalse":
        by_text = {_text(a).strip().lower(): a for a in answers}
        if set(by_text) != {"true", "false"}:
            raise common.Malformed("a true/false question needs the answers true and false")
        answer = _fraction(by_text["true"]) >= 100
        if answer == (_fraction(by_text["false"]) >= 100):
            raise common.Malformed("exactly one of true and false must be worth 100%")
        return {
            "type": "true_false",
            "answer": answer,
            "feedback_true": _formatted(by_text["true"].find("feedback"), q.notes),
            "feedback_false": _formatted(by_text["false"].find("feedback"), q.notes),
        }
    if qtype == "matching":
        pairs, extra = [], []
        for sub in element.findall("subquestion"):
            left = _formatted(sub, q.notes)
            right = _text(sub, "answer/text").strip()
            if left:
                pairs.append({"left": left, "right": right})
            elif right:
                extra.append(right)
        spec = {"type": "matching", "pairs": pairs}
        if extra:
            spec["extra_right"] = extra
        return spec
    if qtype == "numerical":
        best = [a for a in answers if _fraction(a) >= 100]
        if len(best) != 1:
            return q.refuse("a numerical question needs exactly one answer worth 100%").spec
        if len(answers) > 1:
            q.notes.append("answers worth partial credit dropped (numeric is all or nothing)")
        value = common.fraction(_text(best[0]))
        tolerance = common.fraction(_text(best[0], "tolerance") or "0")
        if value is None or tolerance is None:
            raise common.Malformed("the numerical answer and its tolerance must be numbers")
        if q.tags.get("numeric") == "range":
            answer = {"min": _num(value - tolerance), "max": _num(value + tolerance)}
        else:
            answer = {"value": _num(value), "tolerance": _num(tolerance)}
        spec = {"type": "numeric", "answer": answer}
        units = [_text(u, "unit_name").strip() for u in element.findall("units/unit")]
        unit = q.tags.get("unit") or (units[0] if units else "")
        if len(units) > 1:
            q.notes.append(f"only the first unit ({units[0]}) kept")
        if unit:
            spec["unit"] = unit
        return spec
    # ordering (the qtype_ordering plugin): answers are listed in the correct order
    return {"type": "ordering", "items": [_formatted(a, q.notes) for a in answers]}


def _num(value: Decimal):
    return int(value) if value == value.to_integral_value() else float(value)


# --- writing --------------------------------------------------------------------------------------


def cdata(text) -> str:
    return "<![CDATA[" + str(text or "").replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _text_el(tag: str, text, *, fmt: str | None = "markdown", extra: str = "", inner: str = "") -> str:
    attr = f" format={quoteattr(fmt)}" if fmt else ""
    return f"<{tag}{attr}{extra}><text>{cdata(text)}</text>{inner}</{tag}>"


def _feedback(text) -> str:
    return _text_el("feedback", text or "")


def write(questions: list[dict], *, category: str) -> tuple[str, list[str]]:
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<quiz>",
        f'  <question type="category"><category><text>{cdata("$course$/top/" + category)}</text></category></question>',
    ]
    skipped = []
    for spec in questions:
        body = _write_answers(spec)
        if body is None:
            skipped.append(f"{spec['key']}: scenario has no Moodle question type (export its parts)")
            continue
        qtype, answers = body
        tags = "".join(f"<tag><text>{cdata(t)}</text></tag>" for t in common.spec_tags(spec))
        out.append(f'  <question type="{qtype}">')
        out.append(f"    <name><text>{cdata(spec['key'])}</text></name>")
        out.append("    " + _text_el("questiontext", spec["stem"]))
        out.append("    " + _text_el("generalfeedback", common.general_feedback(spec)))
        out.append("    <defaultgrade>1</defaultgrade><penalty>0</penalty><hidden>0</hidden>")
        out.append(f"    <idnumber>{cdata(spec['key'])}</idnumber>")
        out += ["    " + line for line in answers]
        out.append(f"    <tags>{tags}</tags>")
        out.append("  </question>")
    out.append("</quiz>")
    return "\n".join(out) + "\n", skipped


def _write_answers(spec: dict):
    qtype = spec["type"]
    if qtype in ("single", "multiple"):
        if qtype == "single":
            fractions = ["100" if c.get("correct") else "0" for c in spec["choices"]]
        else:
            fractions = common.multiple_fractions(spec)
        lines = [
            f"<single>{'true' if qtype == 'single' else 'false'}</single>",
            "<shuffleanswers>true</shuffleanswers><answernumbering>abc</answernumbering>",
        ]
        lines += [
            _text_el(
                "answer", c["text"], extra=f" fraction={quoteattr(f)}", inner=_feedback(c.get("feedback"))
            )
            for f, c in zip(fractions, spec["choices"], strict=True)
        ]
        return "multichoice", lines
    if qtype == "true_false":
        lines = [
            _text_el(
                "answer",
                label,
                fmt="moodle_auto_format",
                extra=f' fraction="{100 if spec["answer"] is value else 0}"',
                inner=_feedback(spec.get(f"feedback_{label}")),
            )
            for label, value in (("true", True), ("false", False))
        ]
        return "truefalse", lines
    if qtype == "matching":
        lines = ["<shuffleanswers>true</shuffleanswers>"]
        lines += [
            _text_el("subquestion", p["left"], inner=f"<answer><text>{cdata(p['right'])}</text></answer>")
            for p in spec["pairs"]
        ]
        lines += [
            _text_el("subquestion", "", inner=f"<answer><text>{cdata(e)}</text></answer>")
            for e in spec.get("extra_right") or []
        ]
        return "matching", lines
    if qtype == "numeric":
        answer = spec["answer"]
        if "min" in answer:
            low, high = Decimal(str(answer["min"])), Decimal(str(answer["max"]))
            value, tolerance = (low + high) / 2, (high - low) / 2
        else:
            value, tolerance = answer["value"], answer.get("tolerance", 0)
        lines = [
            _text_el(
                "answer",
                value,
                fmt="moodle_auto_format",
                extra=' fraction="100"',
                inner=f"<tolerance>{tolerance}</tolerance>{_feedback('')}",
            )
        ]
        if spec.get("unit"):
            lines.append(
                f"<units><unit><multiplier>1</multiplier><unit_name>{cdata(spec['unit'])}</unit_name></unit></units>"
            )
            lines.append(
                "<unitgradingtype>0</unitgradingtype><showunits>3</showunits><unitsleft>0</unitsleft>"
            )
        return "numerical", lines
    if qtype == "ordering":
        lines = [
            "<layouttype>VERTICAL</layouttype><selecttype>ALL</selecttype><selectcount>0</selectcount>",
            "<gradingtype>ALL_OR_NOTHING</gradingtype><showgrading>SHOW</showgrading>",
        ]
        lines += [
            _text_el("answer", item, extra=f' fraction="{i}"') for i, item in enumerate(spec["items"], 1)
        ]
        return "ordering", lines
    return None
