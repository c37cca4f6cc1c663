"""Reads a course directory (see courses/content/FORMAT.md) into plain data. Pure: no ORM.

Every problem found is collected with its file, so a content author fixes a pull request in one pass.
"""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml
from django.conf import settings

from quizzes import specs
from quizzes.errors import ContentError

FRONT_MATTER = re.compile(r"\A---\s*\n(?P<meta>.*?)\n---\s*\n(?P<body>.*)\Z", re.DOTALL)
KEY = re.compile(r"^[a-z0-9][a-z0-9-]{1,118}$")
IMAGE_SOURCE = re.compile(r"!\[[^\]]*\]\(([^)\s]*)")
ILLUSTRATIONS = Path(settings.ILLUSTRATIONS_DIR)


def _image_problems(body: str) -> list[str]:
    """Images are the project's own drawings only (the sanitiser drops anything else): say so at load."""
    problems = []
    for source in IMAGE_SOURCE.findall(body):
        name = source.removeprefix("static:illustrations/")
        if source == name or not re.fullmatch(r"[a-z0-9][a-z0-9-]*\.svg", name):
            problems.append(
                f"image {source!r}: write static:illustrations/<name>.svg (the project's own drawings)"
            )
        elif not (ILLUSTRATIONS / name).is_file():
            problems.append(
                f"image {source!r}: no such drawing in {ILLUSTRATIONS.relative_to(settings.BASE_DIR)}"
            )
    return problems


IMAGE_WITHOUT_ALT = re.compile(r"!\[\s*\]\(")
QUIZ_FIELDS = {
    "title": str,
    "pass_mark": int,
    "attempt_limit": (int, type(None)),
    "time_limit_minutes": (int, type(None)),
    "cooldown_minutes": int,
    "grading_policy": str,
    "review_policy": str,
    "layout": str,
    "shuffle_questions": bool,
    "shuffle_choices": bool,
    "require_lessons_read": bool,
    "remediation_extra_questions": int,
    "certifying": bool,
}


@dataclass
class ParsedLesson:
    key: str
    title: str
    minutes: int
    objectives: list[str]
    sources: list[str]
    body: str
    clinically_significant: bool
    path: str
    content_hash: str


@dataclass
class ParsedQuiz:
    key: str
    settings: dict
    draw: list[dict]


@dataclass
class ParsedModule:
    key: str
    title: str
    lessons: list[ParsedLesson]
    quiz: ParsedQuiz


@dataclass
class ParsedBank:
    key: str
    title: str
    questions: list[dict]
    path: str = ""
    pool: str = "practice"


@dataclass
class ParsedCourse:
    slug: str
    title: str
    summary: str
    ce_hours: float
    provider_approval_number: str
    accrediting_statement: str
    validity_months: int | None
    open_enrollment: bool
    medical_reviewer: str
    medical_review_date: date | None
    objectives: dict[str, str]
    modules: list[ParsedModule]
    final_exam: ParsedQuiz | None
    banks: list[ParsedBank]
    content_hash: str
    skills: list[dict] = field(default_factory=list)
    minimum_lesson_percent: int = 0
    files: list[str] = field(default_factory=list)


def _load_yaml(path: Path, problems: list[str]):
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        problems.append(f"{path.name}: cannot read YAML ({exc})")
        return None


def _quiz(raw, *, where: str, kind: str, problems: list[str]) -> ParsedQuiz | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: quiz settings are required")
        return None
    key = raw.get("key")
    if not isinstance(key, str) or not KEY.match(key):
        problems.append(f"{where}: quiz key must be lowercase letters, digits and hyphens")
    settings = {"kind": kind}
    for name, expected in QUIZ_FIELDS.items():
        if name in raw:
            if not isinstance(raw[name], expected) or (expected is int and isinstance(raw[name], bool)):
                problems.append(f"{where}: quiz setting {name} has the wrong type")
            settings[name] = raw[name]
    unknown = set(raw) - set(QUIZ_FIELDS) - {"key", "draw"}
    if unknown:
        problems.append(f"{where}: unknown quiz setting(s) {', '.join(sorted(unknown))}")
    draw = raw.get("draw")
    if not isinstance(draw, list) or not draw:
        problems.append(f"{where}: quiz needs draw rules")
        draw = []
    return ParsedQuiz(key=key or "", settings=settings, draw=draw)


def _lesson(path: Path, problems: list[str]) -> ParsedLesson | None:
    text = path.read_text(encoding="utf-8")
    match = FRONT_MATTER.match(text)
    where = f"lessons/{path.parent.name}/{path.name}"
    if not match:
        problems.append(f"{where}: missing YAML front matter between --- lines")
        return None
    try:
        meta = yaml.safe_load(match.group("meta")) or {}
    except yaml.YAMLError as exc:
        problems.append(f"{where}: front matter is not valid YAML ({exc})")
        return None
    body = match.group("body").strip()
    key = meta.get("key")
    if not isinstance(key, str) or not KEY.match(key):
        problems.append(f"{where}: key must be lowercase letters, digits and hyphens")
    if not str(meta.get("title") or "").strip():
        problems.append(f"{where}: title is required")
    minutes = meta.get("minutes")
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 120:
        problems.append(f"{where}: minutes must be a whole number from 1 to 120")
        minutes = 5
    objectives = meta.get("objectives") or []
    sources = meta.get("sources") or []
    if not isinstance(objectives, list) or not objectives:
        problems.append(f"{where}: list the objectives this lesson teaches")
        objectives = []
    if (
        not isinstance(sources, list)
        or not sources
        or not all(isinstance(s, str) and s.strip() for s in sources)
    ):
        problems.append(f"{where}: list at least one source")
        sources = []
    if len(body) < 200:
        problems.append(f"{where}: the lesson body is too short")
    if IMAGE_WITHOUT_ALT.search(body):
        problems.append(f"{where}: every image needs alt text")
    problems += [f"{where}: {problem}" for problem in _image_problems(body)]
    return ParsedLesson(
        key=key or "",
        title=str(meta.get("title") or "").strip(),
        minutes=minutes,
        objectives=[str(o) for o in objectives],
        sources=[s.strip() for s in sources],
        body=body,
        clinically_significant=bool(meta.get("clinically_significant", False)),
        path=where,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
    )


def parse_course_dir(root: str | Path) -> ParsedCourse:
    root = Path(root)
    problems: list[str] = []
    course_file = root / "course.yaml"
    if not course_file.is_file():
        raise ContentError([f"{root}: no course.yaml"])
    raw = _load_yaml(course_file, problems) or {}
    files = [course_file]

    objectives: dict[str, str] = dict(raw.get("objectives") or {})
    for path in sorted((root / "objectives").glob("*.yaml")):
        files.append(path)
        data = _load_yaml(path, problems) or {}
        mapping = data.get("objectives") or {k: v for k, v in data.items() if k != "module_title"}
        for obj_id, text in mapping.items():
            if obj_id in objectives and objectives[obj_id] != text:
                problems.append(f"objectives/{path.name}: {obj_id} is defined twice")
            objectives[str(obj_id)] = str(text)

    banks = []
    for path in sorted((root / "banks").glob("*.yaml")):
        files.append(path)
        data = _load_yaml(path, problems) or {}
        if not isinstance(data.get("questions"), list):
            problems.append(f"banks/{path.name}: needs key, title and questions")
            continue
        # Question problems are reported here, with the file, alongside every other problem.
        problems += [f"banks/{path.name}: {problem}" for problem in specs.validate_bank(data["questions"])]
        pool = data.get("pool", "practice")
        if pool not in ("practice", "exam"):
            problems.append(f"banks/{path.name}: pool must be practice or exam, not {pool!r}")
        banks.append(
            ParsedBank(
                key=str(data.get("key") or path.stem),
                title=str(data.get("title") or path.stem),
                questions=data["questions"],
                path=f"banks/{path.name}",
                pool=pool,
            )
        )

    modules = []
    lesson_keys: set[str] = set()
    for i, mod in enumerate(raw.get("modules") or []):
        mkey = (mod or {}).get("key", "")
        where = f"course.yaml module {i + 1} ({mkey})"
        if not isinstance(mkey, str) or not KEY.match(mkey):
            problems.append(f"{where}: module key must be lowercase letters, digits and hyphens")
            continue
        lesson_files = sorted((root / "lessons" / mkey).glob("*.md"))
        files += lesson_files
        lessons = [lesson for p in lesson_files if (lesson := _lesson(p, problems))]
        if not lessons:
            problems.append(f"{where}: no lessons in lessons/{mkey}/")
        for lesson in lessons:
            if lesson.key in lesson_keys:
                problems.append(f"{lesson.path}: lesson key {lesson.key} is used twice")
            lesson_keys.add(lesson.key)
            for obj in lesson.objectives:
                if obj not in objectives:
                    problems.append(f"{lesson.path}: unknown objective {obj}")
        quiz = _quiz(mod.get("quiz"), where=where, kind="module", problems=problems)
        modules.append(
            ParsedModule(key=mkey, title=str(mod.get("title") or mkey), lessons=lessons, quiz=quiz)
        )
    if not modules:
        problems.append("course.yaml: at least one module is required")

    final_exam = None
    if raw.get("final_exam") is not None:
        final_exam = _quiz(raw["final_exam"], where="course.yaml final_exam", kind="final", problems=problems)

    for bank in banks:
        for q in bank.questions:
            for item in [q] + list((q or {}).get("parts") or []) if isinstance(q, dict) else []:
                if isinstance(item, dict) and item.get("objective") not in objectives:
                    problems.append(
                        f"{bank.path}: {item.get('key')}: unknown objective {item.get('objective')}"
                    )

    review = raw.get("medical_review") or {}
    reviewer = str(review.get("reviewer") or "").strip()
    review_date = review.get("date")
    if review_date is not None and not isinstance(review_date, date):
        problems.append("course.yaml: medical_review.date must be a date (YYYY-MM-DD)")
        review_date = None
    if bool(reviewer) != bool(review_date):
        problems.append("course.yaml: medical_review needs both a reviewer and a date, or neither")
    slug = raw.get("slug")
    if not isinstance(slug, str) or not KEY.match(slug):
        problems.append("course.yaml: slug must be lowercase letters, digits and hyphens")
    skills = []
    for i, skill in enumerate(raw.get("skills") or []):
        key = (skill or {}).get("key") if isinstance(skill, dict) else None
        if not isinstance(key, str) or not KEY.match(key) or not str(skill.get("title") or "").strip():
            problems.append(f"course.yaml: skill {i + 1} needs a key (lowercase, hyphens) and a title")
            continue
        if any(s["key"] == key for s in skills):
            problems.append(f"course.yaml: skill key {key} is used twice")
        skills.append(
            {
                "key": key,
                "title": str(skill["title"]).strip(),
                "description": str(skill.get("description") or "").strip(),
            }
        )
    minimum = raw.get("minimum_lesson_percent", 0)
    if not isinstance(minimum, int) or isinstance(minimum, bool) or not 0 <= minimum <= 100:
        problems.append("course.yaml: minimum_lesson_percent must be a whole number from 0 (off) to 100")
        minimum = 0
    if problems:
        raise ContentError(problems)

    digest = hashlib.sha256()
    for path in sorted(set(files)):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return ParsedCourse(
        slug=slug,
        title=str(raw.get("title") or slug),
        summary=str(raw.get("summary") or "").strip(),
        ce_hours=float(raw.get("ce_hours") or 0),
        provider_approval_number=str(raw.get("provider_approval_number") or ""),
        accrediting_statement=str(raw.get("accrediting_statement") or "").strip(),
        validity_months=raw.get("validity_months"),
        open_enrollment=bool(raw.get("open_enrollment", False)),
        medical_reviewer=reviewer,
        medical_review_date=review_date,
        objectives=objectives,
        modules=modules,
        final_exam=final_exam,
        banks=banks,
        skills=skills,
        minimum_lesson_percent=minimum,
        content_hash=digest.hexdigest(),
        files=[str(p.relative_to(root)) for p in files],
    )
