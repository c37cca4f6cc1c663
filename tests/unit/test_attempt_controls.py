"""The attempt page's controls (issue 17, points 2, 4, 5): the scenario heading, ordering positions that
refuse duplicates and never save an order the learner did not choose, matching that shows every option
whole, one rule for "answered", the numbered navigator with flags, and times as m:ss. Table-driven:
one row per state."""

import html
import re

import pytest

from courses.enrollment import services
from frontend.templatetags.quiz_tags import mmss
from quizzes import grading
from quizzes import selectors as quiz_selectors
from quizzes.models import Answer, Attempt
from tests.course_helpers import TINY_ITEMS_PER_BANK, load_tiny
from tests.factories import UserFactory
from tests.quiz_content import correct_response
from tests.quiz_helpers import flat_payloads

pytestmark = pytest.mark.django_db


@pytest.fixture
def learner(db):
    return UserFactory(first_name="Ada", last_name="Learner")


@pytest.fixture
def learner_client(client, learner):
    client.force_login(learner)
    return client


def open_attempt(tmp_path, learner, learner_client, **quiz) -> tuple:
    tiny = load_tiny(tmp_path, quiz=quiz) if quiz else load_tiny(tmp_path)
    services.enroll(user=learner, course=tiny.course)
    for lesson_id in tiny.modules[0].lessons.values_list("pk", flat=True):
        services.complete_lesson(user=learner, lesson_id=lesson_id)
    response = learner_client.post(f"/quizzes/{tiny.modules[0].quiz.pk}/start/")
    assert response.status_code == 302
    return tiny, Attempt.objects.get(quiz=tiny.modules[0].quiz, state="in_progress")


def item_of(attempt, tiny, suffix: str) -> dict:
    from quizzes.models import Question

    keys = dict(Question.objects.values_list("pk", "key"))
    for payload in flat_payloads(quiz_selectors.attempt_for_learner(attempt)):
        if keys[payload["id"]].endswith(suffix):
            return payload
    raise AssertionError(suffix)


def page_of(attempt, item_id: int) -> int:
    for number, qid in enumerate(attempt.layout["order"], start=1):
        if item_id == qid or item_id in attempt.layout["items"][str(qid)].get("parts", []):
            return number
    raise AssertionError(item_id)


def text(response) -> str:
    return " ".join(html.unescape(response.content.decode()).split())


# --- point 2: the scenario heading ------------------------------------------------------------------


def test_scenario_heading_names_the_first_and_last_part_numbers(tmp_path, learner, learner_client):
    tiny, attempt = open_attempt(tmp_path, learner, learner_client, layout="all_on_one_page")
    body = text(learner_client.get(f"/attempts/{attempt.pk}/"))
    number, headings = 0, []
    for qid in attempt.layout["order"]:
        item = attempt.layout["items"][str(qid)]
        if item["type"] == "scenario":
            headings.append(f"Case: questions {number + 1}–{number + len(item['parts'])}")
        number += len(item.get("parts") or [qid])
    assert headings and all(h in body for h in headings), headings
    assert "–-" not in body


# --- point 4: ordering positions ----------------------------------------------------------------------

ORDERING_CASES = [
    # (name, positions given to the three steps, status, message fragment, saved order as indexes or None)
    ("complete", ["2", "3", "1"], 200, "Saved", [2, 0, 1]),
    ("duplicate", ["1", "1", "2"], 400, "Position 1 is given to more than one step", None),
    ("two duplicates", ["1", "1", "1"], 400, "Position 1 is given to more than one step", None),
    ("partial", ["1", "", "2"], 400, "1 of 3 steps have no position yet", None),
    ("out of range", ["1", "2", "7"], 400, "Positions go from 1 to 3", None),
    ("not a number", ["1", "2", "x"], 400, "Positions go from 1 to 3", None),
]


@pytest.mark.parametrize(("name", "positions", "status", "message", "saved"), ORDERING_CASES)
def test_ordering_autosave_saves_only_an_order_the_learner_chose(
    tmp_path, learner, learner_client, name, positions, status, message, saved
):
    tiny, attempt = open_attempt(tmp_path, learner, learner_client)
    item = item_of(attempt, tiny, "-case-order")
    form = {"question": str(item["id"])}
    for step, position in zip(item["items"], positions, strict=True):
        form[f"q-{item['id']}-pos-{step['id']}"] = position
    response = learner_client.post(f"/attempts/{attempt.pk}/autosave/", form, HTTP_HX_REQUEST="true")
    assert response.status_code == status, name
    assert message in text(response), name
    stored = Answer.objects.filter(attempt=attempt, question_id=item["id"]).first()
    if saved is None:
        assert stored is None, name
    else:
        tokens = [item["items"][i]["id"] for i in saved]
        learner_view = quiz_selectors.attempt_for_learner(attempt)
        mine = next(p for p in flat_payloads(learner_view) if p["id"] == item["id"])
        assert mine["response"] == {"order": tokens} and mine["answered"] is True


def test_ordering_with_a_duplicate_stays_on_the_page_with_what_was_typed(tmp_path, learner, learner_client):
    tiny, attempt = open_attempt(tmp_path, learner, learner_client)
    item = item_of(attempt, tiny, "-case-order")
    page = page_of(attempt, item["id"])
    form = {"page": str(page), "go": "next"}
    for step, position in zip(item["items"], ["3", "3", "1"], strict=True):
        form[f"q-{item['id']}-pos-{step['id']}"] = position
    response = learner_client.post(f"/attempts/{attempt.pk}/", form)
    assert response.status_code == 400
    body = response.content.decode()
    assert "Position 3 is given to more than one step" in html.unescape(body)
    assert 'aria-invalid="true"' in body
    for step, position in zip(item["items"], ["3", "3", "1"], strict=True):
        select = re.search(rf'name="q-{item["id"]}-pos-{step["id"]}"[^>]*>(.*?)</select>', body, re.S).group(
            1
        )
        assert re.search(rf'<option value="{position}" selected>', select), step
    assert not Answer.objects.filter(attempt=attempt, question_id=item["id"]).exists()


# --- point 4: one rule for "answered" -----------------------------------------------------------------

ANSWERED_CASES = [
    ("single picked", {"type": "single", "choices": [["a", 1], ["b", 2]]}, {"choice_ids": ["1"]}, True),
    ("single empty", {"type": "single", "choices": [["a", 1]]}, {"choice_ids": []}, False),
    ("nothing saved", {"type": "numeric"}, None, False),
    ("numeric blank", {"type": "numeric"}, {"value": None}, False),
    ("numeric", {"type": "numeric"}, {"value": "48"}, True),
    ("ordering complete", {"type": "ordering", "choices": [["a", 1], ["b", 2]]}, {"order": ["2", "1"]}, True),
    ("ordering partial", {"type": "ordering", "choices": [["a", 1], ["b", 2]]}, {"order": ["2"]}, False),
    (
        "matching complete",
        {"type": "matching", "left": [["a", 1], ["b", 2]], "right": []},
        {"pairs": {"1": "3", "2": "4"}},
        True,
    ),
    (
        "matching partial",
        {"type": "matching", "left": [["a", 1], ["b", 2]], "right": []},
        {"pairs": {"1": "3"}},
        False,
    ),
]


@pytest.mark.parametrize(("name", "item", "response", "answered"), ANSWERED_CASES)
def test_one_rule_decides_what_counts_as_answered(name, item, response, answered):
    assert grading.is_answered(item, response) is answered, name


def test_a_partial_matching_is_saved_but_not_counted_and_the_page_says_so(tmp_path, learner, learner_client):
    tiny, attempt = open_attempt(tmp_path, learner, learner_client)
    item = item_of(attempt, tiny, "-match")
    left, right = item["left"][0]["id"], item["right"][0]["id"]
    response = learner_client.post(
        f"/attempts/{attempt.pk}/autosave/",
        {"question": str(item["id"]), f"q-{item['id']}-match-{left}": right},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert 'data-answered="0"' in response.content.decode() and "not finished" in text(response)
    assert quiz_selectors.attempt_for_learner(attempt)["answered"] == 0
    review = text(learner_client.get(f"/attempts/{attempt.pk}/review/"))
    assert f"0 of {TINY_ITEMS_PER_BANK} questions answered." in review


def test_matching_shows_every_option_in_full_as_radio_buttons(tmp_path, learner, learner_client):
    tiny, attempt = open_attempt(tmp_path, learner, learner_client)
    item = item_of(attempt, tiny, "-match")
    body = learner_client.get(f"/attempts/{attempt.pk}/?page={page_of(attempt, item['id'])}").content.decode()
    for left in item["left"]:
        assert f"<legend>{left['text']}</legend>" in body
        for right in item["right"]:
            assert re.search(
                rf'name="q-{item["id"]}-match-{left["id"]}" value="{right["id"]}"> {re.escape(right["text"])}</label>',
                body,
            )
    assert "<select" not in body.split(f'id="question-{item["id"]}"')[1].split("</fieldset>")[0]


# --- point 5: navigator, flags, live count, m:ss ------------------------------------------------------

NAV_STATES = [
    # (state, answer the item?, flag it?, is it on the page shown?, expected aria-label tail, classes)
    ("untouched", False, False, False, ", not answered", {"nav-q"}),
    ("answered", True, False, False, ", answered", {"nav-q", "answered"}),
    ("flagged", False, True, False, ", not answered, flagged for review", {"nav-q", "flagged"}),
    ("current", False, False, True, ", not answered, on this page", {"nav-q", "current"}),
    (
        "answered, flagged, current",
        True,
        True,
        True,
        ", answered, flagged for review, on this page",
        {"nav-q", "answered", "flagged", "current"},
    ),
]


@pytest.mark.parametrize(("state", "answer", "flag", "current", "label", "classes"), NAV_STATES)
def test_navigator_entry_shows_each_state(
    tmp_path, learner, learner_client, state, answer, flag, current, label, classes
):
    tiny, attempt = open_attempt(tmp_path, learner, learner_client)
    item = item_of(attempt, tiny, "-single")
    number = page_of(attempt, item["id"])  # a single-choice question is alone on its page
    if answer:
        body = correct_response(item, tiny.specs[f"{tiny.course.slug}-ma-single"])
        services.save_quiz_answer(attempt_id=attempt.pk, user=learner, question_id=item["id"], response=body)
    if flag:
        response = learner_client.post(
            f"/attempts/{attempt.pk}/flag/",
            {"question": str(item["id"]), f"flag-{item['id']}": "1"},
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 200 and 'id="nav-' in response.content.decode()
    shown = number if current else (1 if number != 1 else 2)
    body = learner_client.get(f"/attempts/{attempt.pk}/?page={shown}").content.decode()
    entry = re.search(rf'<button [^>]*id="nav-{item["id"]}"[^>]*>', body).group(0)
    assert set(re.search(r'class="([^"]*)"', entry).group(1).split()) == classes, state
    assert f'aria-label="Question {first_number(attempt, item["id"])}{label}"' in entry, (state, entry)
    assert f'value="page-{number}"' in entry
    assert ('aria-current="step"' in entry) is current


def first_number(attempt, item_id: int) -> int:
    number = 0
    for qid in attempt.layout["order"]:
        for part in attempt.layout["items"][str(qid)].get("parts") or [qid]:
            number += 1
            if part == item_id:
                return number
    raise AssertionError(item_id)


def test_navigator_numbers_items_like_the_questions_and_the_pager(tmp_path, learner, learner_client):
    tiny, attempt = open_attempt(tmp_path, learner, learner_client)
    body = text(learner_client.get(f"/attempts/{attempt.pk}/?page=1"))
    numbers = re.findall(r'data-nav-question="\d+" class="[^"]*"[^>]*>(\d+)', body)
    assert numbers == [str(n) for n in range(1, TINY_ITEMS_PER_BANK + 1)]
    scenario_page = next(
        n
        for n, qid in enumerate(attempt.layout["order"], 1)
        if attempt.layout["items"][str(qid)]["type"] == "scenario"
    )
    first = first_number(
        attempt, attempt.layout["items"][str(attempt.layout["order"][scenario_page - 1])]["parts"][0]
    )
    shown = text(learner_client.get(f"/attempts/{attempt.pk}/?page={scenario_page}"))
    assert f"Questions {first}–{first + 2} of {TINY_ITEMS_PER_BANK}" in shown
    assert "Page " not in shown  # one numbering: questions, not pages


def test_navigator_button_saves_the_page_and_goes_to_the_question(tmp_path, learner, learner_client):
    tiny, attempt = open_attempt(tmp_path, learner, learner_client)
    item = item_of(attempt, tiny, "-single")
    page = page_of(attempt, item["id"])
    target = 1 if page != 1 else 2
    response = learner_client.post(
        f"/attempts/{attempt.pk}/",
        {"page": str(page), "go": f"page-{target}", f"q-{item['id']}": item["choices"][0]["id"]},
    )
    assert response.status_code == 302 and response["Location"] == f"/attempts/{attempt.pk}/?page={target}"
    assert Answer.objects.filter(attempt=attempt, question_id=item["id"]).exists()


FLAG_CASES = [
    ("flag", "1", [True]),
    ("unflag", "", [False]),
]


@pytest.mark.parametrize(("name", "value", "expected"), FLAG_CASES)
def test_flag_for_review_is_kept_and_listed_before_submit(
    tmp_path, learner, learner_client, name, value, expected
):
    tiny, attempt = open_attempt(tmp_path, learner, learner_client)
    item = item_of(attempt, tiny, "-single")
    page = page_of(attempt, item["id"])
    learner_client.post(
        f"/attempts/{attempt.pk}/",
        {"page": str(page), "go": "stay", f"flag-{item['id']}-present": "1", f"flag-{item['id']}": "1"},
    )
    learner_client.post(
        f"/attempts/{attempt.pk}/",
        {"page": str(page), "go": "stay", f"flag-{item['id']}-present": "1", f"flag-{item['id']}": value},
    )
    attempt.refresh_from_db()
    assert [item["id"] in attempt.flagged] == expected, name
    review = text(learner_client.get(f"/attempts/{attempt.pk}/review/"))
    assert ("to look at again" in review) is expected[0]
    if expected[0]:
        assert f'#question-{item["id"]}">Question {first_number(attempt, item["id"])}</a>' in html.unescape(
            learner_client.get(f"/attempts/{attempt.pk}/review/").content.decode()
        )


def test_flag_refused_after_submit_and_for_foreign_questions(tmp_path, learner, learner_client):
    tiny, attempt = open_attempt(tmp_path, learner, learner_client)
    foreign = learner_client.post(
        f"/attempts/{attempt.pk}/flag/", {"question": "999999"}, HTTP_HX_REQUEST="true"
    )
    assert foreign.status_code == 400
    learner_client.post(f"/attempts/{attempt.pk}/submit/")
    item = item_of(attempt, tiny, "-single")
    closed = learner_client.post(
        f"/attempts/{attempt.pk}/flag/",
        {"question": str(item["id"]), f"flag-{item['id']}": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert closed.status_code == 409
    other = UserFactory()
    learner_client.force_login(other)
    assert (
        learner_client.post(f"/attempts/{attempt.pk}/flag/", {"question": str(item["id"])}).status_code == 404
    )


AUTOSAVE_COUNT_CASES = [
    ("answered now", "single", True, "1"),
    ("ordering not finished: refused, the navigator keeps its state", "ordering-partial", False, None),
]


@pytest.mark.parametrize(("name", "kind", "ok", "flag"), AUTOSAVE_COUNT_CASES)
def test_autosave_tells_the_page_whether_the_question_now_counts(
    tmp_path, learner, learner_client, name, kind, ok, flag
):
    tiny, attempt = open_attempt(tmp_path, learner, learner_client)
    if kind == "single":
        item = item_of(attempt, tiny, "-single")
        form = {f"q-{item['id']}": item["choices"][0]["id"]}
    else:
        item = item_of(attempt, tiny, "-case-order")
        form = {f"q-{item['id']}-pos-{item['items'][0]['id']}": "1"}
    response = learner_client.post(
        f"/attempts/{attempt.pk}/autosave/", {"question": str(item["id"]), **form}, HTTP_HX_REQUEST="true"
    )
    assert (response.status_code == 200) is ok, name
    if flag is None:
        assert response.status_code == 400 and "data-answered" not in response.content.decode(), name
    else:
        assert f'data-answered="{flag}"' in response.content.decode(), name


MMSS_CASES = [
    (0, "0:00"),
    (9, "0:09"),
    (61, "1:01"),
    (1489, "24:49"),
    (3600, "1:00:00"),
    (3725, "1:02:05"),
    (None, ""),
]


@pytest.mark.parametrize(("seconds", "shown"), MMSS_CASES)
def test_times_are_shown_as_minutes_and_seconds(seconds, shown):
    assert mmss(seconds) == shown


def test_review_and_attempt_pages_show_time_left_as_mm_ss(clock, tmp_path, learner, learner_client):
    tiny, attempt = open_attempt(tmp_path, learner, learner_client, time_limit_minutes=25)
    review = text(learner_client.get(f"/attempts/{attempt.pk}/review/"))
    assert re.search(r"Time left: 2[45]:\d\d\.", review), review
    assert "seconds" not in review
    body = text(learner_client.get(f"/attempts/{attempt.pk}/"))
    assert re.search(r'Time left: <strong id="timer-value">2[45]:\d\d</strong>', body)
