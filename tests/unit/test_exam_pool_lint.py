"""Content lint for the reserved exam pool of the real course (issue 24).

The certifying final draws only from banks marked `pool: exam`, which no practice quiz draws from or
reviews. These checks keep that pool worth its name: enough items per objective for a different form on
every attempt, no item a learner could have seen with its key in a practice quiz, every objective drawn,
life-critical points covered by critical items, and no internal ids in what a learner reads. Pure: the
files are parsed with the loader, no database.
"""

import difflib
import re
import string
from collections import Counter, defaultdict

import pytest

from courses.catalog.loader import parse_course_dir
from tests.course_helpers import REAL_COURSE_DIR
from tests.critical_points import CRITICAL_POINTS

MIN_ITEMS_PER_OBJECTIVE = 3


INTERNAL_IDS = {
    "fact id (DS-F2)": re.compile(r"\b[A-Z]{2}-F\d+\b"),
    "brief scenario id (OD-S1)": re.compile(r"\b[A-Z]{2}-S\d+\b"),
    "objective code (DS-6)": re.compile(r"\b(DS|PT|OD|LC)-\d+\b"),
    "source-article hash": re.compile(r"\b\d{3}_[0-9a-f]{16}\b"),
    "brief note (N13)": re.compile(r"\(N\d+\)|\bN\d{1,2}\b"),
    "unreviewed marker (nr)": re.compile(r"\(nr\)"),
    "module code": re.compile(r"\bmodule (DS|PT|OD|LC)\b"),
    "review note": re.compile(r"awaiting (medical )?review|pending (medical )?review|do not teach", re.I),
}

# A named public source: an organisation or guideline the brief's reference list checks, or a journal
# article cited by its authors.
NAMED_SOURCE = re.compile(
    r"\b(CDC|NCHS|NIDA|SAMHSA|TIP \d+|FDA|DEA|ASAM|AHA|American Red Cross|WHO|BJA|ACMT|LAPPA|PDAPS|Aetna"
    r"|Evidence-to-Impact|Mee-Lee|Vivitrol)\b|\bet al\.|\band [A-Z][a-z]+, "
)
ABSOLUTE = re.compile(r"\b(never|always|only|all|none|every|must|completely|guaranteed)\b", re.I)


@pytest.fixture(scope="module")
def parsed():
    return parse_course_dir(REAL_COURSE_DIR)


def exam_banks(parsed):
    return [b for b in parsed.banks if b.pool == "exam"]


def practice_banks(parsed):
    return [b for b in parsed.banks if b.pool == "practice"]


def items_of(question: dict) -> list[dict]:
    return list(question.get("parts") or [question])


def all_entries(banks) -> list[dict]:
    """Every top-level question and every scenario part."""
    out = []
    for b in banks:
        for q in b.questions:
            out.append(q)
            out += list(q.get("parts") or [])
    return out


def gradable(banks) -> list[dict]:
    return [item for b in banks for q in b.questions for item in items_of(q)]


def learner_texts(spec: dict) -> list[str]:
    """Everything a learner may read of an item (stem, choices, feedback, explanation, pairs, items)."""
    texts = [spec.get("stem", ""), spec.get("explanation", "")]
    texts += [spec.get("feedback_true", ""), spec.get("feedback_false", "")]
    for choice in spec.get("choices") or []:
        texts += [choice.get("text", ""), choice.get("feedback", "")]
    for pair in spec.get("pairs") or []:
        texts += [pair.get("left", ""), pair.get("right", "")]
    texts += list(spec.get("extra_right") or []) + list(spec.get("items") or [])
    return [str(t) for t in texts if t]


def normalise(text: str) -> str:
    text = text.lower().translate(str.maketrans("", "", string.punctuation))
    return " ".join(text.split())


# --- the pool exists and is kept apart ------------------------------------------------------------


def test_every_module_has_one_exam_bank_and_one_practice_bank(parsed):
    modules = {m.key for m in parsed.modules}
    assert Counter(b.key.removesuffix("-exam") for b in exam_banks(parsed)) == Counter(modules)
    assert {b.key for b in practice_banks(parsed)} == modules
    for b in exam_banks(parsed):
        prefix = b.key.removesuffix("-exam")
        wrong_module = [
            q["key"] for q in all_entries([b]) if not q["objective"].lower().startswith(prefix + "-")
        ]
        assert wrong_module == [], b.key


def test_every_objective_has_at_least_three_exam_items_of_two_types(parsed):
    # Counted as the final draws them: a scenario is one drawn question, under its own objective.
    counts: Counter = Counter()
    types: dict[str, set] = defaultdict(set)
    for b in exam_banks(parsed):
        for q in b.questions:
            counts[q["objective"]] += 1
            types[q["objective"]].add(q["type"])
    thin = {obj: counts[obj] for obj in parsed.objectives if counts[obj] < MIN_ITEMS_PER_OBJECTIVE}
    narrow = {obj: sorted(types[obj]) for obj in parsed.objectives if len(types[obj]) < 2}
    assert thin == {} and narrow == {}


def test_no_exam_key_appears_in_any_practice_bank(parsed):
    exam_keys = [q["key"] for q in all_entries(exam_banks(parsed))]
    practice_keys = {q["key"] for q in all_entries(practice_banks(parsed))}
    assert len(exam_keys) == len(set(exam_keys)), "an exam key is used twice"
    assert set(exam_keys) & practice_keys == set()


def stems_in_context(banks) -> list[tuple[str, str]]:
    """(key, stem as the learner reads it): a scenario part is read under its case."""
    out = []
    for b in banks:
        for q in b.questions:
            out.append((q["key"], normalise(q["stem"])))
            out += [(p["key"], normalise(f"{q['stem']} {p['stem']}")) for p in q.get("parts") or []]
    return out


def similar(a: str, b: str, threshold: float) -> bool:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return (
        matcher.real_quick_ratio() > threshold
        and matcher.quick_ratio() > threshold
        and matcher.ratio() > threshold
    )


def test_no_exam_stem_copies_a_practice_stem(parsed):
    # A reworded copy of a practice item would carry its reviewed key into the exam.
    practice = stems_in_context(practice_banks(parsed))
    copies = [
        (key, other_key)
        for key, stem in stems_in_context(exam_banks(parsed))
        for other_key, other in practice
        if similar(stem, other, 0.85)
    ]
    assert copies == []


def test_no_exam_key_text_repeats_a_practice_key_text(parsed):
    # The harvesting attack of issue 24 matched keys by their text: a single-choice exam key worded
    # like a key the practice review revealed would be answerable without the knowledge.
    practice_keys = [
        normalise(c["text"])
        for i in gradable(practice_banks(parsed))
        if i["type"] in ("single", "multiple")
        for c in i["choices"]
        if c.get("correct")
    ]
    repeats = [
        (item["key"], choice["text"])
        for item in gradable(exam_banks(parsed))
        if item["type"] == "single"
        for choice in item["choices"]
        if choice.get("correct") and any(similar(normalise(choice["text"]), k, 0.85) for k in practice_keys)
    ]
    assert repeats == []


def test_the_copy_check_catches_a_reworded_practice_stem():
    a = normalise("True or false: withdrawal management can be provided only in a hospital.")
    b = normalise("True or false: withdrawal management takes place only in a hospital.")
    assert difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() > 0.85


def harvest(banks) -> dict:
    """What the practice reviews reveal, by text (issue 24's attacker): every choice text shown as
    correct, every matching pair, every ordering, and every true/false stem with its answer."""
    found = {"correct": set(), "pairs": set(), "orders": set(), "true_false": {}}
    for item in gradable(banks):
        found["correct"] |= {normalise(c["text"]) for c in item.get("choices") or [] if c.get("correct")}
        found["pairs"] |= {(normalise(p["left"]), normalise(p["right"])) for p in item.get("pairs") or []}
        if item["type"] == "ordering":
            found["orders"].add(tuple(normalise(t) for t in item["items"]))
        if item["type"] == "true_false":
            found["true_false"][normalise(item["stem"])] = item["answer"]
    return found


def answered_by_harvest(item: dict, found: dict) -> bool:
    if item["type"] in ("single", "multiple"):
        picked = {normalise(c["text"]) for c in item["choices"] if normalise(c["text"]) in found["correct"]}
        keys = {normalise(c["text"]) for c in item["choices"] if c.get("correct")}
        return picked == keys
    if item["type"] == "matching":
        return all((normalise(p["left"]), normalise(p["right"])) in found["pairs"] for p in item["pairs"])
    if item["type"] == "ordering":
        return tuple(normalise(t) for t in item["items"]) in found["orders"]
    if item["type"] == "true_false":
        return found["true_false"].get(normalise(item["stem"])) == item["answer"]
    return False  # numeric: nothing to match by text


def test_a_harvest_of_every_practice_key_answers_no_exam_item(parsed):
    found = harvest(practice_banks(parsed))
    answered = [i["key"] for i in gradable(exam_banks(parsed)) if answered_by_harvest(i, found)]
    assert answered == []


def test_the_harvest_check_answers_a_copied_item():
    copy = {
        "key": "x",
        "type": "single",
        "stem": "s",
        "choices": [{"text": "Give naloxone now", "correct": True}, {"text": "Wait", "correct": False}],
    }
    bank = type("Bank", (), {"questions": [copy]})
    assert answered_by_harvest(copy, harvest([bank]))


# --- the final exam --------------------------------------------------------------------------------


def test_the_final_is_certifying_reviews_by_objective_and_draws_every_objective(parsed):
    final = parsed.final_exam
    assert final is not None
    assert final.settings.get("certifying") is True
    assert final.settings.get("review_policy") == "objectives"
    drawn = Counter(rule["objective"] for rule in final.draw if rule.get("objective"))
    assert set(parsed.objectives) - set(drawn) == set(), "objectives the final never draws"
    exam_bank_keys = {b.key for b in exam_banks(parsed)}
    assert [r["bank"] for r in final.draw if r.get("bank") and r["bank"] not in exam_bank_keys] == []
    # every attempt can be a different form: each objective rule draws at most a third of its items
    per_objective = Counter(q["objective"] for b in exam_banks(parsed) for q in b.questions)
    tight = {obj: (n, per_objective[obj]) for obj, n in drawn.items() if per_objective[obj] < 3 * n}
    assert tight == {}


def test_the_final_allows_about_two_and_a_half_minutes_per_drawn_item(parsed):
    final = parsed.final_exam
    drawn = sum(rule["count"] for rule in final.draw)
    minutes = final.settings.get("time_limit_minutes")
    assert minutes is not None and 2 * drawn <= minutes <= 3.5 * drawn, (drawn, minutes)


# --- item quality -----------------------------------------------------------------------------------


def test_no_internal_ids_or_review_notes_in_exam_text(parsed):
    found = [
        (spec["key"], label, match.group(0))
        for spec in all_entries(exam_banks(parsed))
        for text in learner_texts(spec)
        for label, pattern in INTERNAL_IDS.items()
        for match in [pattern.search(text)]
        if match
    ]
    assert found == []


def test_the_internal_id_check_catches_what_issue_16_found():
    samples = ["as taught (DS-F2, DS-F3)", "[000_d721397f1b2e283a]", "follow module OD", "DS-6 (Recognise"]
    assert all(any(p.search(s) for p in INTERNAL_IDS.values()) for s in samples)
    assert not any(p.search("Call 911 and give naloxone (SAMHSA 2023).") for p in INTERNAL_IDS.values())


def test_every_exam_item_cites_a_named_public_source(parsed):
    unnamed = [
        (spec["key"], spec.get("source"))
        for spec in all_entries(exam_banks(parsed))
        if not NAMED_SOURCE.search(str(spec.get("source") or ""))
        or INTERNAL_IDS["source-article hash"].search(str(spec.get("source")))
    ]
    assert unnamed == []


def test_every_exam_item_is_marked_clinically_significant(parsed):
    # New certifying content re-trains certified staff like any clinical change (issue 24).
    unmarked = [
        q["key"]
        for b in exam_banks(parsed)
        for q in b.questions
        if q.get("clinically_significant") is not True
    ]
    assert unmarked == []


def test_true_false_keys_are_balanced_and_types_are_mixed(parsed):
    items = gradable(exam_banks(parsed))
    tf = Counter(i["answer"] for i in items if i["type"] == "true_false")
    assert sum(tf.values()) >= 8
    assert 0.35 <= tf[True] / sum(tf.values()) <= 0.65, dict(tf)
    assert sum(tf.values()) / len(items) <= 0.3
    types = Counter(i["type"] for i in items) + Counter(
        "scenario" for b in exam_banks(parsed) for q in b.questions if q["type"] == "scenario"
    )
    assert set(types) == {"single", "multiple", "true_false", "ordering", "matching", "numeric", "scenario"}


def test_keyed_positions_vary(parsed):
    positions = Counter(
        next(i for i, c in enumerate(item["choices"]) if c.get("correct"))
        for item in gradable(exam_banks(parsed))
        if item["type"] == "single"
    )
    total = sum(positions.values())
    assert {0, 1, 2, 3} <= set(positions), positions
    assert max(positions.values()) / total <= 0.4, positions


def test_multiple_response_items_are_not_mostly_keyed_true(parsed):
    multiples = [i for i in gradable(exam_banks(parsed)) if i["type"] == "multiple"]
    mostly_true = [
        i["key"]
        for i in multiples
        if sum(bool(c.get("correct")) for c in i["choices"]) > len(i["choices"]) / 2
    ]
    assert len(mostly_true) <= len(multiples) / 3, mostly_true


def test_single_choice_keys_carry_no_length_or_absolute_word_cue(parsed):
    cues = []
    for item in gradable(exam_banks(parsed)):
        if item["type"] != "single":
            continue
        key = next(c["text"] for c in item["choices"] if c.get("correct"))
        others = [c["text"] for c in item["choices"] if not c.get("correct")]
        if len(key) > 1.3 * max(len(o) for o in others):
            cues.append((item["key"], "key much longer than every distractor"))
        in_key = {w.lower() for w in ABSOLUTE.findall(key)}
        only_in_distractors = {w.lower() for o in others for w in ABSOLUTE.findall(o)} - in_key
        if only_in_distractors:
            cues.append((item["key"], f"absolute words only in distractors: {sorted(only_in_distractors)}"))
    assert cues == []


def test_single_choice_keys_are_not_usually_the_longest_option(parsed):
    singles = [i for i in gradable(exam_banks(parsed)) if i["type"] == "single"]
    longest = [
        i["key"]
        for i in singles
        if next(len(c["text"]) for c in i["choices"] if c.get("correct"))
        > max(len(c["text"]) for c in i["choices"] if not c.get("correct"))
    ]
    assert len(longest) <= 0.35 * len(singles), f"{len(longest)} of {len(singles)}: {longest}"


def test_every_exam_explanation_has_at_least_two_sentences(parsed):
    short = [
        s["key"]
        for s in all_entries(exam_banks(parsed))
        if len(
            [
                p
                for p in re.split(r"[.!?](?=\s|$)", str(s.get("explanation") or "").strip())
                if len(p.split()) >= 3
            ]
        )
        < 2
    ]
    assert short == []


# --- critical points ----------------------------------------------------------------------------------


@pytest.mark.parametrize("point", sorted(CRITICAL_POINTS))
def test_each_critical_point_has_two_critical_exam_items_of_two_types(parsed, point):
    patterns = CRITICAL_POINTS[point]
    hits = [
        (item["key"], item["type"])
        for item in gradable(exam_banks(parsed))
        if item.get("critical")
        and all(re.search(p, f"{item['stem']}\n{item['explanation']}", re.I) for p in patterns)
    ]
    assert len(hits) >= 2 and len({t for _, t in hits}) >= 2, hits


def test_every_objective_with_a_critical_practice_item_has_a_critical_exam_item(parsed):
    critical_practice = {i["objective"] for i in gradable(practice_banks(parsed)) if i.get("critical")}
    critical_exam = {i["objective"] for i in gradable(exam_banks(parsed)) if i.get("critical")}
    assert critical_practice - critical_exam == set()
