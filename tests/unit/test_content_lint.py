"""Content lint over the REAL course content (courses/content/substance-use-safety).

Most checks parse the files with the pure loader (no database). Counting rules (issue 5): every
scenario part counts toward the totals under its own type; a scenario counts once toward type coverage,
as "scenario".
"""

import difflib
import re
import string
from collections import Counter, defaultdict

import pytest
from django.test import override_settings

from courses.catalog import services as catalog_services
from courses.catalog.loader import parse_course_dir
from courses.enrollment import selectors, services
from courses.models import Enrollment, Lesson, Module
from quizzes.models import Question
from tests.course_helpers import BRIEF_PATH, REAL_COURSE_DIR, read_all_lessons
from tests.critical_points import CRITICAL_POINTS, module_quiz_points
from tests.factories import UserFactory

MODULE_QUIZ_POINTS = module_quiz_points()
TYPES = {"single", "multiple", "true_false", "ordering", "matching", "numeric", "scenario"}
MODULES = ("ds", "pt", "od", "lc")


@pytest.fixture(scope="module")
def parsed():
    return parse_course_dir(REAL_COURSE_DIR)


def items_of(question: dict) -> list[dict]:
    """Gradable items of a top-level question: its scenario parts, or itself."""
    return list(question.get("parts") or [question])


def all_specs(parsed) -> list[tuple[str, dict]]:
    """(module key, spec) for every top-level question AND every scenario part."""
    out = []
    for bank in parsed.banks:
        for q in bank.questions:
            out.append((bank.key, q))
            out += [(bank.key, p) for p in q.get("parts") or []]
    return out


def bank(parsed, key):
    return next(b for b in parsed.banks if b.key == key)


def module_numbers(parsed, key) -> dict:
    items = Counter()
    coverage = set()
    critical = 0
    scenarios = 0
    for q in bank(parsed, key).questions:
        coverage.add(q["type"])
        scenarios += q["type"] == "scenario"
        for item in items_of(q):
            items[item["type"]] += 1
            coverage.add(item["type"])
            critical += bool(item.get("critical"))
    total = sum(items.values())
    return {
        "items": dict(items),
        "total": total,
        "scenarios": scenarios,
        "coverage": coverage,
        "tf_share": items["true_false"] / total if total else 0,
        "critical": critical,
    }


# --- mix per module -----------------------------------------------------------------------------------


def test_course_has_the_four_modules_with_3_to_6_lessons_and_one_bank_each(parsed):
    assert [m.key for m in parsed.modules] == list(MODULES)
    for module in parsed.modules:
        assert 3 <= len(module.lessons) <= 6, module.key
    # one practice bank per module (the reserved exam pool adds <module>-exam banks of its own)
    assert sorted(b.key for b in parsed.banks if not b.key.endswith("-exam")) == sorted(MODULES)
    assert parsed.final_exam is not None


@pytest.mark.parametrize("module", MODULES)
def test_true_false_is_at_most_a_quarter_of_each_module(parsed, module):
    numbers = module_numbers(parsed, module)
    assert numbers["tf_share"] <= 0.25, f"{module}: {numbers['items']}"


@pytest.mark.parametrize("module", MODULES)
def test_each_module_has_at_least_30_questions_counting_scenario_parts(parsed, module):
    numbers = module_numbers(parsed, module)
    assert numbers["total"] >= 30, f"{module}: {numbers['items']}"


@pytest.mark.parametrize("module", MODULES)
def test_each_module_uses_all_seven_types(parsed, module):
    numbers = module_numbers(parsed, module)
    assert numbers["coverage"] == TYPES, f"{module} is missing {TYPES - numbers['coverage']}"
    assert numbers["scenarios"] >= 1


# --- objectives -----------------------------------------------------------------------------------


def objective_coverage(parsed) -> tuple[Counter, dict[str, set]]:
    counts: Counter = Counter()
    types: dict[str, set] = defaultdict(set)
    for b in parsed.banks:
        for q in b.questions:
            if q["type"] == "scenario":
                types[q["objective"]].add("scenario")  # once, as a scenario
            for item in items_of(q):
                counts[item["objective"]] += 1
                types[item["objective"]].add(item["type"])
    return counts, types


def test_every_objective_is_taught_by_a_lesson(parsed):
    taught = {obj for m in parsed.modules for lesson in m.lessons for obj in lesson.objectives}
    assert set(parsed.objectives) - taught == set()


def test_every_objective_is_tested_by_at_least_4_questions_of_at_least_2_types(parsed):
    counts, types = objective_coverage(parsed)
    thin = {obj: counts[obj] for obj in parsed.objectives if counts[obj] < 4}
    narrow = {obj: sorted(types[obj]) for obj in parsed.objectives if len(types[obj]) < 2}
    assert thin == {} and narrow == {}


def test_every_question_names_an_existing_objective(parsed):
    unknown = [
        (m, s["key"], s.get("objective"))
        for m, s in all_specs(parsed)
        if s.get("objective") not in parsed.objectives
    ]
    assert unknown == []


def test_every_question_sits_in_the_bank_of_its_objectives_module(parsed):
    # A question on OD-3 in the DS bank would be drawn into the wrong module quiz.
    misplaced = [
        (m, s["key"], s["objective"])
        for m, s in all_specs(parsed)
        if not s["objective"].lower().startswith(m.removesuffix("-exam") + "-")
    ]
    assert misplaced == []


def brief_text() -> str:
    return BRIEF_PATH.read_text(encoding="utf-8")


def brief_section(text: str, module: str, heading: str) -> str:
    match = re.search(
        rf"^#### {module.upper()} {re.escape(heading)}.*?$\n(?P<body>.*?)(?=^#{{2,4}} )", text, re.M | re.S
    )
    assert match, f"brief has no '{module.upper()} {heading}' section"
    return match.group("body")


def test_every_objective_of_the_brief_is_in_the_course(parsed):
    text = brief_text()
    ids = set()
    for module in MODULES:
        ids |= set(
            re.findall(r"^- \*\*([A-Z]{2}-\d+)\*\*", brief_section(text, module, "learning objectives"), re.M)
        )
    assert len(ids) >= 20
    assert ids - set(parsed.objectives) == set()


# --- question hygiene -----------------------------------------------------------------------------


def test_each_single_choice_question_has_exactly_one_correct_choice(parsed):
    bad = [
        (s["key"], sum(1 for c in s["choices"] if c.get("correct") is True))
        for _, s in all_specs(parsed)
        if s["type"] == "single" and sum(1 for c in s["choices"] if c.get("correct") is True) != 1
    ]
    assert bad == []


ABOVE = re.compile(r"\b(all|none|both|neither) of (the|these) (above|answers|options)\b", re.I)


def test_no_all_or_none_of_the_above_in_single_choice(parsed):
    bad = [
        (s["key"], c["text"])
        for _, s in all_specs(parsed)
        if s["type"] == "single"
        for c in s["choices"]
        if ABOVE.search(c["text"])
    ]
    assert bad == []


def normalise(stem: str) -> str:
    stem = stem.lower().translate(str.maketrans("", "", string.punctuation))
    return " ".join(stem.split())


def near_duplicates(stems: list[tuple], threshold: float = 0.9) -> list[tuple[str, str, float]]:
    """Pairs of stems whose normalised texts have a difflib ratio above `threshold`.

    Entries are (key, text) or (key, text, family, own_stem): within one family (a scenario and its
    parts) the parts' own stems are compared, since they all share the case text."""
    found = []
    entries = [
        (e[0], normalise(e[1]), e[2] if len(e) > 2 else e[0], normalise(e[3] if len(e) > 3 else e[1]))
        for e in stems
    ]
    for i, (key_a, a, family_a, own_a) in enumerate(entries):
        for key_b, b, family_b, own_b in entries[i + 1 :]:
            if family_a == family_b:
                if key_a == family_a or key_b == family_b:
                    continue  # a scenario against one of its own parts
                a_text, b_text = own_a, own_b
            else:
                a_text, b_text = a, b
            matcher = difflib.SequenceMatcher(None, a_text, b_text, autojunk=False)
            # cheap upper bounds first; ratio() only for plausible pairs
            if matcher.real_quick_ratio() > threshold and matcher.quick_ratio() > threshold:
                ratio = matcher.ratio()
                if ratio > threshold:
                    found.append((key_a, key_b, round(ratio, 3)))
    return found


def test_the_near_duplicate_check_catches_a_reworded_copy():
    stems = [
        ("a", "Which finding shows that a resident has moved from being high into an overdose?"),
        ("b", "Which finding shows that the resident has moved from being high into an overdose?"),
        ("c", "How long does nasal naloxone usually keep working?"),
    ]
    assert [(a, b) for a, b, _ in near_duplicates(stems)] == [("a", "b")]
    # the same generic part stem under two different cases is not a duplicate; under one case it is
    case_a, case_b = "A resident on a diazepam taper smells of alcohol.", "A new resident used dope and bars."
    part = "Which actions are appropriate now?"
    parts = [
        ("s1", case_a, "s1", case_a),
        ("s1-x", f"{case_a} {part}", "s1", part),
        ("s2", case_b, "s2", case_b),
        ("s2-x", f"{case_b} {part}", "s2", part),
    ]
    assert near_duplicates(parts) == []
    parts.append(("s2-y", f"{case_b} {part}", "s2", part))
    assert [(a, b) for a, b, _ in near_duplicates(parts)] == [("s2-x", "s2-y")]


def stems_in_context(parsed) -> list[tuple[str, str, str, str]]:
    """(key, stem as the learner reads it, family, own stem): a scenario part is read under its case,
    so two cases may both ask "Which actions are appropriate now?" without being the same question."""
    stems = []
    for b in parsed.banks:
        for q in b.questions:
            stems.append((q["key"], q["stem"], q["key"], q["stem"]))
            stems += [
                (p["key"], f"{q['stem']}\n{p['stem']}", q["key"], p["stem"]) for p in q.get("parts") or []
            ]
    return stems


def test_no_duplicate_or_near_duplicate_stems(parsed):
    stems = stems_in_context(parsed)
    assert len({normalise(text) for _, text, _, _ in stems}) == len(stems), "identical stems"
    assert near_duplicates(stems) == []


def test_every_question_and_every_lesson_has_a_source(parsed):
    no_source = [s["key"] for _, s in all_specs(parsed) if not str(s.get("source") or "").strip()]
    assert no_source == []
    lessons = [lesson for m in parsed.modules for lesson in m.lessons]
    assert [lesson.key for lesson in lessons if not lesson.sources] == []
    # a source is a brief tag ("[TAG]"); a lesson may add notes to its list, but needs one real tag.
    # Exam-pool items name their sources in full instead (checked in test_exam_pool_lint.py).
    tag = re.compile(r"\[[^\]]+\]")
    exam_banks = {b.key for b in parsed.banks if b.pool == "exam"}
    untagged = [s["key"] for m, s in all_specs(parsed) if m not in exam_banks and not tag.search(s["source"])]
    untagged += [lesson.key for lesson in lessons if not any(tag.search(src) for src in lesson.sources)]
    assert untagged == []


SENTENCE_END = re.compile(r"[.!?](?=[\s\"')\]]|$)")


def sentences(text: str) -> list[str]:
    text = re.sub(r"\b(e\.g|i\.e|etc|vs|approx|Dr|St)\.", r"\1", text.strip())
    parts = [p.strip() for p in SENTENCE_END.split(text)]
    return [p for p in parts if len(p.split()) >= 3]


def test_sentence_counter_is_not_fooled_by_one_long_sentence():
    assert len(sentences("Naloxone is safe to give, e.g. when unsure [CDC].")) == 1
    assert len(sentences("Naloxone is safe to give [CDC]. Waiting loses minutes that matter.")) == 2


def test_every_explanation_is_present_and_longer_than_a_sentence(parsed):
    short = [s["key"] for _, s in all_specs(parsed) if len(sentences(str(s.get("explanation") or ""))) < 2]
    assert short == []


# --- critical points ------------------------------------------------------------------------------


def critical_texts(parsed) -> list[tuple[str, str]]:
    return [
        (s["key"], f"{s['stem']}\n{s['explanation']}")
        for _, s in all_specs(parsed)
        if s.get("critical") and s["type"] != "scenario"
    ]


@pytest.mark.parametrize("point", sorted(CRITICAL_POINTS))
def test_each_life_critical_point_has_a_critical_question(parsed, point):
    patterns = CRITICAL_POINTS[point]
    hits = [key for key, text in critical_texts(parsed) if all(re.search(p, text, re.I) for p in patterns)]
    assert hits, f"no critical question covers: {point}"


def test_every_module_has_critical_questions(parsed):
    for module in MODULES:
        assert module_numbers(parsed, module)["critical"] >= 3, module


def answer_texts(spec: dict) -> list[str]:
    texts = [c["text"] for c in spec.get("choices") or []] + list(spec.get("items") or [])
    for pair in spec.get("pairs") or []:
        texts += [pair["left"], pair["right"]]
    return texts


def item_text(spec: dict) -> str:
    return "\n".join([spec["stem"], spec["explanation"], *answer_texts(spec)])


def matches(spec: dict, patterns: tuple[str, ...]) -> bool:
    return all(re.search(p, item_text(spec), re.I) for p in patterns)


def covers(spec: dict, point: str) -> bool:
    return matches(spec, CRITICAL_POINTS[point])


def critical_items(parsed) -> list[tuple[str, dict]]:
    return [(m, s) for m, s in all_specs(parsed) if s.get("critical") and s["type"] != "scenario"]


@pytest.mark.parametrize("point", sorted(CRITICAL_POINTS))
def test_every_critical_point_has_two_critical_items_of_two_types(parsed, point):
    hits = [s for _, s in critical_items(parsed) if covers(s, point)]
    assert len(hits) >= 2 and len({s["type"] for s in hits}) >= 2, (point, [s["key"] for s in hits])


# --- draw rules: every objective and every critical point reaches every learner ------------------------


def top_level(parsed, pool: str = "practice") -> list[dict]:
    return [q for b in parsed.banks if b.pool == pool for q in b.questions]


def rule_pool(parsed, rule: dict, pool: str = "practice") -> list[dict]:
    """The top-level questions a draw rule can pick from (the engine's pool, before earlier rules): a
    certifying quiz draws from the reserved exam pool only, every other quiz from the practice pool."""
    if rule.get("question"):
        return [q for q in top_level(parsed, pool) if q["key"] == rule["question"]]
    if rule.get("objective"):
        return [q for q in top_level(parsed, pool) if q["objective"] == rule["objective"]]
    return list(bank(parsed, rule["bank"]).questions)


def guaranteed(parsed, rules: list[dict], wanted, pool: str = "practice") -> bool:
    """True when EVERY attempt drawn by `rules` holds a question satisfying `wanted` (a predicate on a
    top-level question): some rule must draw more questions than its pool has questions that fail
    `wanted`. Rules that name a question are placed first in the files, so they take nothing from later
    rules' pools; objective pools are disjoint; so counting pool by pool is exact."""
    for rule in rules:
        candidates = rule_pool(parsed, rule, pool)
        misses = sum(1 for q in candidates if not wanted(q))
        if len(candidates) >= rule["count"] and misses < rule["count"]:
            return True
    return False


def question_covers_point(question: dict, patterns: tuple[str, ...]) -> bool:
    return any(
        s.get("critical") and matches(s, patterns) for s in items_of(question) if s["type"] != "scenario"
    )


def module_objectives(parsed, module: str) -> set[str]:
    return {o for o in parsed.objectives if o.lower().startswith(module + "-")}


def test_guarantee_check_counts_pools_exactly(parsed):
    # OD-8 holds several questions; drawing one of them does not guarantee a named question, drawing all does
    pool = [q["key"] for q in top_level(parsed) if q["objective"] == "OD-8"]
    assert len(pool) >= 3
    assert not guaranteed(parsed, [{"objective": "OD-8", "count": 1}], lambda q: q["key"] == pool[0])
    assert guaranteed(parsed, [{"objective": "OD-8", "count": len(pool)}], lambda q: q["key"] == pool[0])
    assert guaranteed(parsed, [{"question": pool[0], "count": 1}], lambda q: q["key"] == pool[0])


@pytest.mark.parametrize("module", MODULES)
def test_module_quiz_draws_every_objective_of_its_module(parsed, module):
    quiz = next(m.quiz for m in parsed.modules if m.key == module)
    drawn = {r["objective"] for r in quiz.draw if r.get("objective")}
    assert drawn == module_objectives(parsed, module)
    for objective in module_objectives(parsed, module):
        assert guaranteed(parsed, quiz.draw, lambda q, o=objective: q["objective"] == o), objective


def objectives_with_critical_items(parsed) -> set[str]:
    return {s["objective"] for _, s in critical_items(parsed)}


@pytest.mark.parametrize("module", MODULES)
def test_every_objective_with_a_critical_item_is_drawn_in_its_module_quiz(parsed, module):
    quiz = next(m.quiz for m in parsed.modules if m.key == module)
    for objective in objectives_with_critical_items(parsed) & module_objectives(parsed, module):
        assert guaranteed(parsed, quiz.draw, lambda q, o=objective: q["objective"] == o), objective


def test_every_objective_with_a_critical_item_is_drawn_in_the_final(parsed):
    final = parsed.final_exam
    pool = "exam" if final.settings.get("certifying") else "practice"
    missing = [
        objective
        for objective in sorted(objectives_with_critical_items(parsed))
        if not guaranteed(parsed, final.draw, lambda q, o=objective: q["objective"] == o, pool)
    ]
    assert missing == []


@pytest.mark.parametrize("point", sorted(MODULE_QUIZ_POINTS))
def test_every_critical_point_is_in_every_learners_module_quizzes(parsed, point):
    # a learner takes all four module quizzes, so one quiz that always samples the point is enough
    patterns = MODULE_QUIZ_POINTS[point]
    assert any(
        guaranteed(parsed, m.quiz.draw, lambda q: question_covers_point(q, patterns)) for m in parsed.modules
    ), point


def test_question_draw_rules_come_before_objective_rules(parsed):
    # guaranteed() relies on it, and so does the engine: a question taken by an objective rule first
    # would leave its own rule with nothing to draw
    for quiz in [m.quiz for m in parsed.modules] + [parsed.final_exam]:
        kinds = ["question" if r.get("question") else "other" for r in quiz.draw]
        assert kinds == sorted(kinds, key=lambda k: k != "question"), quiz.key


def test_module_quizzes_are_formative_and_the_final_is_not(parsed):
    for module in parsed.modules:
        settings = module.quiz.settings
        assert settings.get("attempt_limit") is None and settings.get("review_policy") == "full", module.key
        assert settings.get("cooldown_minutes", 0) == 0, module.key
    assert parsed.final_exam.settings.get("attempt_limit")


# --- balance of keys ---------------------------------------------------------------------------


def test_true_false_keys_are_balanced(parsed):
    answers = [s["answer"] for _, s in all_specs(parsed) if s["type"] == "true_false"]
    share_true = sum(answers) / len(answers)
    assert 0.35 <= share_true <= 0.65, f"{sum(answers)} of {len(answers)} keyed true"
    for module in MODULES:
        keyed = {s["answer"] for m, s in all_specs(parsed) if m == module and s["type"] == "true_false"}
        assert keyed == {True, False}, module


@pytest.mark.parametrize("module", MODULES)
def test_single_choice_keys_are_spread_over_the_positions(parsed, module):
    # exports and printouts keep the file order, so the key must not sit in one place
    positions = Counter(
        [c.get("correct") is True for c in s["choices"]].index(True)
        for m, s in all_specs(parsed)
        if m == module and s["type"] == "single"
    )
    total = sum(positions.values())
    for position in range(3):
        assert 0.1 <= positions[position] / total <= 0.4, (module, sorted(positions.items()))


def test_single_choice_keys_do_not_stand_out_by_length(parsed):
    singles = [s for _, s in all_specs(parsed) if s["type"] == "single"]
    longest, far_longer = [], []
    for spec in singles:
        key = next(len(c["text"]) for c in spec["choices"] if c.get("correct"))
        others = max(len(c["text"]) for c in spec["choices"] if not c.get("correct"))
        longest += [spec["key"]] if key > others else []
        far_longer += [spec["key"]] if key > 1.3 * others else []
    assert far_longer == []
    assert len(longest) <= 0.4 * len(singles), f"{len(longest)} of {len(singles)} keys are the longest option"


def test_multiple_select_items_do_not_mostly_key_most_options(parsed):
    multi = [s for _, s in all_specs(parsed) if s["type"] == "multiple"]
    mostly_correct = [
        s["key"] for s in multi if 2 * sum(bool(c.get("correct")) for c in s["choices"]) > len(s["choices"])
    ]
    assert len(mostly_correct) <= len(multi) / 2, mostly_correct
    # and "select all" is never simply every option
    assert [s["key"] for s in multi if all(c.get("correct") for c in s["choices"])] == []


# --- learner-facing text: no internal ids, no review notes, readable numbered references ---------------

INTERNAL = [
    (re.compile(r"\b\d{3}_[0-9a-f]{16}\b"), "source-article hash"),
    (re.compile(r"\b(DS|PT|OD|LC)-F\d+"), "internal fact id"),
    (re.compile(r"\b(DS|PT|OD|LC)-\d+\b"), "objective code"),
    (re.compile(r"\b(module|modules) (DS|PT|OD|LC)\b", re.I), "internal module key"),
    (re.compile(r"\(nr\)|\bbrief (N|section )\d+|\bN\d{1,2}\b"), "brief reference"),
    (
        re.compile(
            r"awaiting|medical review|not (yet )?(been )?checked|content review|do not teach|to be confirmed|"
            r"\bTODO\b|\bTBD\b|reviewer|figures? awaiting",
            re.I,
        ),
        "review note",
    ),
    (
        re.compile(r"\[(?!\d+(, \d+)*\])(?!!(WARNING|NOTE|TIP|IMPORTANT)\])[^\]\n]{1,60}\](?!\()"),
        "unnumbered citation",
    ),
]


def internal_markers(text: str) -> list[str]:
    return [f"{label}: {m.group(0)}" for pattern, label in INTERNAL for m in pattern.finditer(text)]


def test_the_internal_marker_check_catches_each_kind():
    assert internal_markers("Naloxone works [1, 2]. > [!WARNING] Stay with them. See [the guide](x).") == []
    planted = [
        "as the article says [000_d721397f1b2e283a]",
        "explained earlier (DS-F2, DS-F3)",
        "the result: DS-6 (Recognise fake pills)",
        "follow the overdose response in module OD",
        "figures awaiting confirmation",
        "so do not teach it",
        "as [FDA 2016b] warned",
    ]
    assert all(internal_markers(text) for text in planted)


def learner_texts(parsed) -> list[tuple[str, str]]:
    """(where, text) for everything a learner can read: course, objectives' wording, skills, lessons
    (title, body, sources) and every question field shown before or after submission."""
    out = [("course title", parsed.title), ("course summary", parsed.summary)]
    out += [(f"objective {o}", text) for o, text in parsed.objectives.items()]
    out += [(f"skill {s['key']}", f"{s['title']}\n{s['description']}") for s in parsed.skills]
    for module in parsed.modules:
        out.append((f"module {module.key} title", module.title))
        out.append((f"quiz {module.quiz.key} title", module.quiz.settings.get("title", "")))
        for lesson in module.lessons:
            out.append((lesson.key, "\n".join([lesson.title, lesson.body, *lesson.sources])))
    for _, spec in all_specs(parsed):
        fields = [spec["stem"], spec["explanation"], spec["source"], *answer_texts(spec)]
        fields += [c.get("feedback") or "" for c in spec.get("choices") or []]
        fields += list(spec.get("extra_right") or [])
        fields += [spec.get("feedback_true") or "", spec.get("feedback_false") or ""]
        out.append((spec["key"], "\n".join(fields)))
    return out


def test_no_internal_ids_or_review_notes_in_learner_facing_text(parsed):
    found = [(where, marker) for where, text in learner_texts(parsed) for marker in internal_markers(text)]
    assert found == []


NUMBERED = re.compile(r"^\[(\d+)\] (\S.{8,})$")
CITED = re.compile(r"\[(\d+(?:, \d+)*)\](?!\()")


def numbered_sources(sources: list[str]) -> list[int]:
    numbers = []
    for source in sources:
        match = NUMBERED.match(source.strip())
        assert match, f"not a numbered reference with a readable title: {source!r}"
        numbers.append(int(match.group(1)))
    return numbers


def cited_numbers(text: str) -> set[int]:
    return {int(n) for group in CITED.findall(text) for n in group.split(", ")}


def test_lessons_cite_numbered_references_with_readable_titles(parsed):
    for module in parsed.modules:
        for lesson in module.lessons:
            numbers = numbered_sources(lesson.sources)
            assert numbers == list(range(1, len(numbers) + 1)), lesson.key
            assert cited_numbers(lesson.body) <= set(numbers), lesson.key


def test_questions_cite_numbered_references_with_readable_titles(parsed):
    for _, spec in all_specs(parsed):
        parts = re.split(r"\s+(?=\[\d+\] )", spec["source"].strip())
        numbers = numbered_sources(parts)
        assert numbers == list(range(1, len(numbers) + 1)), spec["key"]
        assert cited_numbers(spec["explanation"]) <= set(numbers), spec["key"]
        # the database column holds 500 characters
        assert len(spec["source"].strip()) <= 500, spec["key"]


# --- distractors from the brief's misconceptions --------------------------------------------------

_STOPWORDS = """that this with from they them their have will only also must just like than then when what
which because after before about into once other some every does were been being your cannot"""
STOPWORDS = frozenset(_STOPWORDS.split())


def misconceptions(text: str, module: str) -> list[str]:
    body = brief_section(text, module, "common misconceptions")
    found = []
    for line in body.splitlines():
        if line.lstrip().startswith("- "):
            found += re.findall(r'"([^"]{8,})"', line)
    return found


def key_roots(text: str) -> set[str]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {w[:5] for w in words if (len(w) >= 4 or w.isdigit()) and w not in STOPWORDS}


def matches_misconception(choice: str, misconception: str) -> bool:
    roots = key_roots(misconception)
    if len(roots) < 2:
        return False
    lowered = choice.lower()
    hit = sum(1 for r in roots if r in lowered)
    return hit >= 2 and hit / len(roots) >= 0.6


def wrong_choices(parsed, module: str) -> list[tuple[str, str]]:
    out = []
    for q in bank(parsed, module).questions:
        for item in items_of(q):
            if item["type"] in ("single", "multiple"):
                out += [(item["key"], c["text"]) for c in item["choices"] if not c.get("correct")]
            elif item["type"] == "matching":
                out += [(item["key"], text) for text in item.get("extra_right") or []]
    return out


def distractor_matches(parsed, text: str, module: str) -> list[tuple[str, str]]:
    return [
        (key, m)
        for m in misconceptions(text, module)
        for key, choice in wrong_choices(parsed, module)
        if matches_misconception(choice, m)
    ]


def test_misconception_matcher_is_fuzzy_but_not_promiscuous():
    m = "Naloxone reverses cocaine or methamphetamine overdose."
    assert matches_misconception("Naloxone will reverse a cocaine overdose", m)
    assert not matches_misconception("Call 911 and stay with the person", m)


@pytest.mark.parametrize("module", MODULES)
def test_distractors_are_drawn_from_the_briefs_misconceptions(parsed, module):
    text = brief_text()
    assert len(misconceptions(text, module)) >= 8
    assert distractor_matches(parsed, text, module), f"{module}: no wrong choice echoes a misconception"


# --- the course loads and every quiz can be drawn -------------------------------------------------


@pytest.mark.django_db
@override_settings(COURSE_ALLOW_UNREVIEWED=True)
def test_the_whole_course_loads_and_every_quiz_starts_and_draws(parsed):
    report = catalog_services.load_course(path=REAL_COURSE_DIR)
    version = report.version
    assert report.created_version and version.number == 1
    assert Module.objects.filter(version=version).count() == 4
    assert Lesson.objects.filter(module__version=version).count() == sum(
        len(m.lessons) for m in parsed.modules
    )
    expected_rows = len(all_specs(parsed))
    assert Question.objects.filter(is_current=True).count() == expected_rows
    # every lesson rendered to sanitised HTML
    assert not Lesson.objects.filter(module__version=version, body_html="").exists()

    learner = UserFactory()
    enrollment, _ = services.enroll(user=learner, course=report.course, source=Enrollment.Source.MANUAL)
    read_all_lessons(learner, version)  # (each opened its estimated minutes ago: the CE minimum is met)
    bank_of = dict(Question.objects.values_list("pk", "bank__key"))
    objective_of = dict(Question.objects.values_list("pk", "objective"))
    rules_of = {m.quiz.key: m.quiz.draw for m in parsed.modules} | {
        parsed.final_exam.key: parsed.final_exam.draw
    }
    quizzes = [(m.quiz, m.key) for m in Module.objects.filter(version=version).select_related("quiz")]
    quizzes.append((version.final_exam, None))
    for quiz, module_key in quizzes:
        rules = rules_of[quiz.key]
        attempt, created = services.start_quiz_attempt(user=learner, quiz=quiz)
        assert created
        order = attempt.layout["order"]
        assert len(order) == len(set(order)) == sum(r["count"] for r in rules)
        if module_key:
            # a module quiz draws only from its own bank, the counts its objective rules ask for
            assert {bank_of[qid] for qid in order} == {module_key}
            drawn = Counter(objective_of[qid] for qid in order)
            for rule in rules:
                if rule.get("objective"):
                    assert drawn[rule["objective"]] >= rule["count"], rule
        assert selectors.enrollment_for_quiz(user=learner, quiz=quiz).pk == enrollment.pk
