"""A draft against the published version (or any two course documents): pure, no ORM.

Lessons as a line diff of the Markdown plus their changed fields; questions added, removed and
changed field by field; course settings, objectives, quiz settings and draw rules changed; and which
added or changed items the author marked clinically significant."""

import difflib
from dataclasses import dataclass, field


@dataclass
class FieldChange:
    name: str
    before: object
    after: object


@dataclass
class ItemChange:
    kind: str  # lesson | question | quiz | course | objective | module
    key: str
    status: str  # added | removed | changed
    title: str = ""
    fields: list[FieldChange] = field(default_factory=list)
    text_diff: list[tuple[str, str]] = field(default_factory=list)  # (op, line): op in " +-@"
    significant: bool = False


@dataclass
class DocumentDiff:
    course: list[FieldChange] = field(default_factory=list)
    objectives: list[ItemChange] = field(default_factory=list)
    modules: list[ItemChange] = field(default_factory=list)
    lessons: list[ItemChange] = field(default_factory=list)
    questions: list[ItemChange] = field(default_factory=list)
    quizzes: list[ItemChange] = field(default_factory=list)

    @property
    def significant(self) -> list[ItemChange]:
        return [c for c in self.lessons + self.questions if c.significant]

    @property
    def is_empty(self) -> bool:
        return not (
            self.course or self.objectives or self.modules or self.lessons or self.questions or self.quizzes
        )

    def counts(self) -> dict[str, int]:
        return {
            "lessons": len(self.lessons),
            "questions": len(self.questions),
            "quizzes": len(self.quizzes),
            "significant": len(self.significant),
        }


def flatten(value, prefix: str = "") -> dict[str, object]:
    """{"choices[2].feedback": "..."}: one entry per leaf, so a change is named down to its field."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        out = {}
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}[{i + 1}]"))
        return out
    return {prefix: value}


def field_changes(before: dict, after: dict, *, skip=()) -> list[FieldChange]:
    a, b = flatten(before or {}), flatten(after or {})
    changes = []
    for name in list(a) + [n for n in b if n not in a]:
        if name.split(".")[0].split("[")[0] in skip:
            continue
        if a.get(name) != b.get(name):
            changes.append(FieldChange(name, a.get(name), b.get(name)))
    return changes


def text_diff(before: str, after: str) -> list[tuple[str, str]]:
    lines = list(
        difflib.unified_diff((before or "").splitlines(), (after or "").splitlines(), lineterm="", n=2)
    )[2:]
    return [
        (line[:1] if line[:1] in "+-@" else " ", line[1:] if line[:1] in "+- " else line) for line in lines
    ]


def _lessons(document: dict) -> dict[str, dict]:
    return {lesson["key"]: lesson for m in document.get("modules", []) for lesson in m.get("lessons", [])}


def _questions(document: dict) -> dict[str, dict]:
    return {q["key"]: q for b in document.get("banks", []) for q in b.get("questions", [])}


def _quizzes(document: dict) -> dict[str, dict]:
    found = {m["quiz"]["key"]: m["quiz"] for m in document.get("modules", []) if m.get("quiz")}
    if document.get("final_exam"):
        found[document["final_exam"]["key"]] = document["final_exam"]
    return found


def _significant(item: dict) -> bool:
    return bool(item.get("clinically_significant")) or any(
        p.get("clinically_significant") for p in item.get("parts") or [] if isinstance(p, dict)
    )


def _compare(kind, before: dict, after: dict, *, title, skip=(), body=None) -> list[ItemChange]:
    changes = []
    for key in list(before) + [k for k in after if k not in before]:
        old, new = before.get(key), after.get(key)
        if old is None:
            changes.append(ItemChange(kind, key, "added", title(new), significant=_significant(new)))
        elif new is None:
            changes.append(ItemChange(kind, key, "removed", title(old)))
        else:
            fields = field_changes(old, new, skip=skip + ((body,) if body else ()))
            diff = text_diff(old.get(body, ""), new.get(body, "")) if body else []
            if fields or diff:
                changes.append(
                    ItemChange(
                        kind,
                        key,
                        "changed",
                        title(new),
                        fields=fields,
                        text_diff=diff,
                        significant=_significant(new),
                    )
                )
    return changes


def diff_documents(before: dict, after: dict) -> DocumentDiff:
    before = before or {"course": {}, "modules": [], "banks": [], "final_exam": None}
    result = DocumentDiff()
    result.course = field_changes(
        before.get("course", {}), after.get("course", {}), skip=("objectives", "medical_review")
    )
    old_obj, new_obj = (
        before.get("course", {}).get("objectives", {}),
        after.get("course", {}).get("objectives", {}),
    )
    for key in list(old_obj) + [k for k in new_obj if k not in old_obj]:
        if old_obj.get(key) != new_obj.get(key):
            status = "added" if key not in old_obj else "removed" if key not in new_obj else "changed"
            result.objectives.append(
                ItemChange(
                    "objective",
                    key,
                    status,
                    new_obj.get(key) or old_obj.get(key) or "",
                    fields=[FieldChange("text", old_obj.get(key), new_obj.get(key))],
                )
            )
    modules_before = {m["key"]: {"title": m["title"]} for m in before.get("modules", [])}
    modules_after = {m["key"]: {"title": m["title"]} for m in after.get("modules", [])}
    result.modules = _compare("module", modules_before, modules_after, title=lambda m: m["title"])
    result.lessons = _compare(
        "lesson", _lessons(before), _lessons(after), title=lambda x: x.get("title", ""), body="body"
    )
    result.questions = _compare(
        "question", _questions(before), _questions(after), title=lambda q: (q.get("stem") or "")[:90]
    )
    result.quizzes = _compare("quiz", _quizzes(before), _quizzes(after), title=lambda q: q.get("title", ""))
    return result
