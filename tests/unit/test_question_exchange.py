"""Question exchange with Moodle and spreadsheets: GIFT, Moodle XML and CSV parsed onto our seven types
(refusing what has no equivalent, with the line or question name), malformed files refused with a message,
and a round trip of every shipped bank through both formats compared field by field."""

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given
from hypothesis import strategies as st

from courses.catalog import services as course_services
from courses.catalog.exchange import common, csv_format, export, gift, moodle_xml
from courses.catalog.exchange import services as exchange
from quizzes.models import Question, QuestionBank
from tests.course_helpers import REAL_COURSE_DIR

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "exchange"


def parse_gift(name="all-types.gift", **defaults):
    return gift.parse((FIXTURES / name).read_text(encoding="utf-8"), bank_key="imp", defaults=defaults)


def parse_xml(name="all-types.xml", **defaults):
    return moodle_xml.parse((FIXTURES / name).read_bytes(), bank_key="imp", defaults=defaults)


def by_name(result):
    return {q.name or q.where: q for q in result.questions}


# --- GIFT -----------------------------------------------------------------------------------------


def test_gift_maps_every_supported_type_and_keeps_names_feedback_and_general_feedback():
    qs = by_name(parse_gift())
    single = qs["Naloxone first"]
    assert single.status == "created" and single.where == "line 5"
    assert single.spec["key"] == "od-gift-single"  # Moodle's [id:...]
    assert (single.spec["objective"], single.spec["difficulty"], single.spec["critical"]) == ("OD-1", 1, True)
    assert [c["correct"] for c in single.spec["choices"]] == [True, False, False]
    assert single.spec["choices"][1]["feedback"] == "Caffeine does not restore breathing."
    assert single.spec["explanation"].startswith("Naloxone reverses")
    assert single.spec["source"] == "[1] CDC, Naloxone facts"

    multiple = qs["Signs of overdose"]
    assert multiple.spec["type"] == "multiple" and multiple.spec["scoring"] == "partial"
    assert [c["correct"] for c in multiple.spec["choices"]] == [True, True, False, False]
    # Only the last "Source:" paragraph is the source; an inline mention stays in the explanation.
    assert multiple.spec["explanation"].endswith("Source: none inline")

    tf = qs["line 29"]
    assert tf.spec["type"] == "true_false" and tf.spec["answer"] is True
    # GIFT: {TRUE#feedback when wrong#feedback when right}
    assert (
        tf.spec["feedback_true"] == "Right, they do."
        and tf.spec["feedback_false"] == "Wrong: they do slow it."
    )

    matching = qs["Match"]
    assert [p["right"] for p in matching.spec["pairs"]] == ["opioid", "depressant", "stimulant"]
    assert matching.spec["extra_right"] == ["hallucinogen"]

    assert qs["Wait"].spec["answer"] == {"value": 3, "tolerance": 1} and qs["Wait"].spec["unit"] == "minutes"
    assert qs["Range"].spec["answer"] == {"min": 10, "max": 14}


def test_gift_escapes_are_literal_text():
    q = by_name(parse_gift())["Escapes: all six"]
    assert q.status == "created", q.refusal
    assert q.spec["stem"] == "Which text shows every reserved character ~ = # { } : and a backslash \\?"
    assert q.spec["choices"][0] == {
        "text": "50% of 2 = 1 {set} a:b ~ #1",
        "correct": True,
        "feedback": "right # feedback",
    }
    assert q.spec["explanation"] == "Escaped characters stay literal.\nA new line too."


def test_gift_refuses_what_has_no_equivalent_with_its_line_number():
    qs = by_name(parse_gift())
    assert (qs["Short"].status, qs["Short"].where) == ("refused", "line 46")
    assert "short answer" in qs["Short"].refusal
    assert "essay" in qs["Essay"].refusal and qs["Essay"].where == "line 48"
    assert "description" in qs["Intro"].refusal
    assert "objective" in qs["No source"].refusal and "source" in qs["No source"].refusal


def test_gift_missing_word_is_converted_and_html_is_converted():
    result = gift.parse(
        (FIXTURES / "all-types.gift").read_text(encoding="utf-8"),
        bank_key="imp",
        defaults={"objective": "OD-9", "source": "[1] Imported"},
    )
    qs = by_name(result)
    blank = qs["Blank"]
    assert blank.status == "converted", blank.refusal
    assert blank.spec["stem"] == "Naloxone is _____ that reverses opioid effects."
    assert any("missing-word" in note for note in blank.notes)
    html_q = qs["No source"]  # [html] text, no feedback at all: still refused for the explanation
    assert html_q.status == "refused" and "general feedback" in html_q.refusal


def test_malformed_gift_is_refused_per_question_and_never_raises():
    result = parse_gift("malformed-unclosed.gift", objective="X", source="S")
    assert result.questions[0].where == "line 1"
    assert "never closes" in result.questions[0].refusal
    assert gift.parse("\x00\x01", bank_key="imp").error
    assert gift.parse("\n\n// only a comment\n", bank_key="imp").error == "no GIFT questions found"
    for text in (
        "::name without end{=a}",
        "x}{=a ~b}",
        "{=a ~b} {=c ~d}",
        "q{junk =a ~b}",
        "q{#1..x}",
        "q{~%abc%a}",
    ):
        result = gift.parse(text, bank_key="imp", defaults={"objective": "X", "source": "S"})
        assert result.questions[0].status == "refused", text


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40))
def test_any_text_survives_gift_escaping(text):
    text = text.strip()
    if not text or text.upper() in ("T", "F", "TRUE", "FALSE"):
        return
    spec = {
        "key": "prop-q",
        "type": "single",
        "objective": "X-1",
        "difficulty": 2,
        "critical": False,
        "source": "[1] S",
        "stem": f"Stem {text}",
        "explanation": f"Because {text}.",
        "choices": [
            {"text": f"A {text}", "correct": True, "feedback": text},
            {"text": "B", "correct": False},
            {"text": "C", "correct": False},
        ],
    }
    written, skipped = gift.write([spec], category="Cat")
    (q,) = gift.parse(written, bank_key="imp").questions
    assert q.status == "created", q.refusal
    assert q.spec["stem"] == spec["stem"] and q.spec["explanation"] == spec["explanation"]
    assert q.spec["choices"][0] == {"text": f"A {text}", "correct": True, "feedback": text}


# --- Moodle XML -----------------------------------------------------------------------------------


def test_xml_maps_types_and_refuses_others_by_question_name():
    qs = by_name(parse_xml(source="[1] Given"))
    chest = qs["Chest pain after cocaine"]
    assert chest.status == "converted", chest.refusal
    assert chest.spec["stem"] == "A client has **chest pain** after cocaine & alcohol. What do you do?"
    assert chest.spec["source"] == "[1] NIDA, Cocaine DrugFacts"  # from the HTML general feedback
    assert chest.spec["choices"][2]["text"] == "Give water <and wait>"
    assert any("penalties" in n for n in chest.notes)
    cdata = qs["CDATA edge"]
    assert cdata.spec["stem"] == "Which text holds ]]> and <tags> literally?"
    assert [c["text"] for c in cdata.spec["choices"]][:2] == ["a ]]> b", "<b>not bold</b>"]
    assert qs["Stimulants raise heart rate"].spec["feedback_false"] == "They raise it."
    assert qs["Match stimulants"].spec["extra_right"] == ["hallucinogen"]
    cool = qs["Cool-down"]
    assert cool.status == "converted" and cool.spec["answer"] == {"value": 10, "tolerance": 2}
    assert cool.spec["unit"] == "minutes"
    for name, words in (
        ("Type it", "short answer"),
        ("Reflect", "essay"),
        ("Cloze one", "cloze"),
        ("Half credit only", "100%"),
        ("Fraction words", "not a number"),
    ):
        assert qs[name].status == "refused" and words in qs[name].refusal, name
        assert qs[name].where == f'question "{name}"'


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bomb.xml", "DTD"),
        ("external-entity.xml", "DTD"),
        ("not-well-formed.xml", "not well-formed"),
        ("wrong-root.xml", "<quiz>"),
    ],
)
def test_malformed_or_hostile_xml_is_refused_with_a_message(name, message):
    result = parse_xml(name)
    assert message in result.error and not result.questions


def test_xml_writer_splits_cdata_terminators():
    assert moodle_xml.cdata("a]]>b") == "<![CDATA[a]]]]><![CDATA[>b]]>"


# --- CSV ------------------------------------------------------------------------------------------


def test_csv_rows_become_single_and_multiple_choice():
    result = csv_format.parse((FIXTURES / "simple.csv").read_text(encoding="utf-8"), bank_key="imp")
    first, second, bad = result.questions
    assert first.spec["type"] == "single" and first.spec["critical"] is True and first.spec["difficulty"] == 1
    assert first.spec["choices"][0]["feedback"] == "Yes, it blocks opioid receptors."
    assert second.spec["type"] == "multiple" and [c["correct"] for c in second.spec["choices"]] == [
        True,
        True,
        False,
        False,
    ]
    assert bad.where == "line 4" and "correct must name letters" in bad.refusal
    assert "lacks column" in csv_format.parse("a,b\n1,2\n", bank_key="imp").error
    assert csv_format.parse('stem,choice_a,choice_b,correct,explanation\n"x,a,b,A,e\n', bank_key="i").error


# --- through the database -------------------------------------------------------------------------


@pytest.fixture
def real_course(db, tmp_path):
    return course_services.load_course(path=REAL_COURSE_DIR)


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


COMPARED = ("type", "stem", "explanation", "objective", "difficulty", "critical", "clinically_significant")
COMPARED += ("source", "scoring", "data")


def question_rows(question):
    fields = {name: getattr(question, name) for name in COMPARED}
    choices = [
        (c.position, c.text, c.match_text, c.correct, c.feedback)
        for c in question.choices.order_by("position")
    ]
    return fields, choices


@pytest.mark.parametrize("fmt", ["gift", "moodle-xml"])
def test_every_shipped_bank_round_trips_field_by_field(real_course, tmp_path, fmt):
    compared = 0
    for bank in QuestionBank.objects.order_by("key"):
        out = tmp_path / f"{bank.key}.{fmt}"
        printed = run("export_questions", "--bank", bank.key, "--format", fmt, "--out", str(out))
        new_key = f"rt-{bank.key}"
        run(
            "import_questions",
            str(out),
            "--format",
            fmt,
            "--bank",
            new_key,
            "--course",
            "substance-use-safety",
        )
        originals = Question.objects.filter(bank=bank, is_current=True, parent__isnull=True)
        skipped = {
            q.key for q in originals if q.type == "scenario" or (fmt == "gift" and q.type == "ordering")
        }
        assert printed.count("skipped") == len(skipped)
        for original in originals.exclude(key__in=skipped):
            copy = Question.objects.get(key=f"{new_key}-{original.key}", is_current=True)
            assert copy.bank.key == new_key
            assert question_rows(copy) == question_rows(original), original.key
            compared += 1
        assert Question.objects.filter(bank__key=new_key).count() == originals.count() - len(skipped)
    assert compared > 100


def test_import_is_all_or_nothing_and_dry_run_writes_nothing(db, tmp_path):
    before = Question.objects.count()
    with pytest.raises(CommandError, match="refused; nothing was imported"):
        run("import_questions", str(FIXTURES / "all-types.gift"), "--format", "gift", "--bank", "imp")
    assert Question.objects.count() == before and not QuestionBank.objects.filter(key="imp").exists()
    printed = run(
        "import_questions",
        str(FIXTURES / "all-types.gift"),
        "--format",
        "gift",
        "--bank",
        "imp",
        "--dry-run",
        "--partial",
    )
    assert "line 46: refused (short answer" in printed and "line 5: created single od-gift-single" in printed
    assert Question.objects.count() == before
    printed = run(
        "import_questions", str(FIXTURES / "all-types.gift"), "--format", "gift", "--bank", "imp", "--partial"
    )
    assert "Imported: 7 created, 1 converted, 4 refused; banks imp (8)" in printed
    assert set(Question.objects.filter(bank__key="imp").values_list("type", flat=True)) == {
        "single",
        "multiple",
        "true_false",
        "matching",
        "numeric",
    }
    # A second import of the same file cannot reuse the keys: renamed under the bank, said so.
    printed = run(
        "import_questions",
        str(FIXTURES / "all-types.gift"),
        "--format",
        "gift",
        "--bank",
        "imp2",
        "--partial",
    )
    assert "key od-gift-single is already used: imported as imp2-od-gift-single" in printed


def test_import_refuses_unknown_objectives_of_the_course_and_unreadable_files(real_course, tmp_path):
    with pytest.raises(CommandError, match="refused"):
        run(
            "import_questions",
            str(FIXTURES / "simple.csv"),
            "--format",
            "csv",
            "--bank",
            "c",
            "--course",
            "substance-use-safety",
        )
    with pytest.raises(CommandError, match="DTD"):
        run("import_questions", str(FIXTURES / "bomb.xml"), "--format", "moodle-xml", "--bank", "c")
    binary = tmp_path / "b.gift"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(CommandError, match="not UTF-8"):
        run("import_questions", str(binary), "--format", "gift", "--bank", "c")
    with pytest.raises(CommandError, match="cannot read"):
        run("import_questions", str(tmp_path / "missing"), "--format", "gift", "--bank", "c")


def test_csv_import_writes_through_the_service(db):
    printed = run(
        "import_questions", str(FIXTURES / "simple.csv"), "--format", "csv", "--bank", "sheet", "--partial"
    )
    assert "line 2: created single csv-naloxone" in printed
    naloxone = Question.objects.get(key="csv-naloxone")
    assert naloxone.bank.key == "sheet" and naloxone.critical
    assert export.bank_specs(naloxone.bank)[1]["scoring"] == "partial"


def test_several_categories_become_several_banks(db):
    text = (
        "$CATEGORY: top/Alpha\n\n// [tag:objective:A-1]\n::a-one::Q{=x ~y ~z####Why. Because.\\n\\nSource\\: S}\n\n"
        "$CATEGORY: top/Beta\n\n// [tag:objective:A-1]\n::b-one::Q{=x ~y ~z####Why. Because.\\n\\nSource\\: S}\n"
    )
    report = exchange.import_questions(text.encode(), fmt="gift", bank_key="cats")
    assert {k: [q["key"] for q in v] for k, v in report.banks.items()} == {
        "cats-alpha": ["a-one"],
        "cats-beta": ["b-one"],
    }
    assert QuestionBank.objects.get(key="cats-beta").title == "Beta"


def test_metadata_tags_are_what_moodle_keeps():
    spec = {
        "key": "k",
        "type": "numeric",
        "objective": "OD-1",
        "difficulty": 3,
        "critical": True,
        "answer": {"min": 1, "max": 2},
        "unit": "mg",
    }
    assert common.spec_tags(spec) == [
        "objective:OD-1",
        "difficulty:3",
        "critical:true",
        "unit:mg",
        "numeric:range",
    ]
