"""CSV import of simple single and multiple choice questions, one row per question (spreadsheets).

Header (first row; column order free, names case-insensitive):
  stem, choice_a, choice_b[, choice_c ... choice_h], correct, explanation     required
  key, type, objective, source, difficulty, critical, scoring,
  feedback_a ... feedback_h                                                   optional
`correct` names the right letters: "B" (single) or "A;C" (multiple; also "A,C" or "AC").
`type` is single or multiple (blank: single when one letter is correct, else multiple); blank
objective and source take the import's --objective and --source.
"""

import csv
import io
import string

from courses.catalog.exchange import common
from courses.catalog.exchange.common import ImportedQuestion, ParseResult

LETTERS = string.ascii_lowercase[:8]
REQUIRED = {"stem", "choice_a", "choice_b", "correct", "explanation"}


def parse(text: str, *, bank_key: str, defaults: dict | None = None) -> ParseResult:
    defaults = defaults or {}
    result = ParseResult()
    try:
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), strict=True)
        header = {(h or "").strip().lower() for h in reader.fieldnames or []}
        missing = REQUIRED - header
        if missing:
            result.error = f"the header lacks column(s): {', '.join(sorted(missing))}"
            return result
        for index, raw in enumerate(reader, start=1):
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if isinstance(v, str)}
            if None in raw:
                result.error = f"line {reader.line_num}: more cells than header columns"
                return result
            if not any(row.values()):
                continue
            result.questions.append(
                _row(row, line=reader.line_num, index=index, bank_key=bank_key, defaults=defaults)
            )
    except csv.Error as exc:
        result.error = f"not readable CSV ({exc})"
        return result
    if not result.questions:
        result.error = "no question rows"
    return result


def _row(row: dict, *, line: int, index: int, bank_key: str, defaults: dict) -> ImportedQuestion:
    q = ImportedQuestion(where=f"line {line}", idnumber=row.get("key", ""))
    q.tags = {k: row[k] for k in ("objective", "difficulty", "critical", "scoring") if row.get(k)}
    if q.tags.get("critical"):
        q.tags["critical"] = "true" if q.tags["critical"].lower() in ("true", "yes", "1") else "false"
    choices = [(letter, row.get(f"choice_{letter}", "")) for letter in LETTERS]
    choices = [(letter, text) for letter, text in choices if text]
    picked = {c for c in row.get("correct", "").lower() if c in LETTERS}
    unknown = picked - {letter for letter, _ in choices}
    if not picked or unknown:
        return q.refuse(f"correct must name letters of filled-in choices, not {row.get('correct')!r}")
    qtype = row.get("type", "").lower() or ("single" if len(picked) == 1 else "multiple")
    if qtype not in ("single", "multiple"):
        return q.refuse(f"type must be single or multiple, not {qtype!r}")
    spec = {
        "type": qtype,
        "choices": [
            {"text": text, "correct": letter in picked, "feedback": row.get(f"feedback_{letter}", "")}
            for letter, text in choices
        ],
    }
    if qtype == "multiple":
        spec["scoring"] = q.tags.get("scoring") or "partial"
    general = row["explanation"] + (f"\n\n{common.SOURCE_PREFIX}{row['source']}" if row.get("source") else "")
    return common.finish(
        q, spec, stem=row["stem"], general=general, bank_key=bank_key, index=index, defaults=defaults
    )
