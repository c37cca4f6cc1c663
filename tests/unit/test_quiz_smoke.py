import pytest

from quizzes.models import Attempt, Question
from tests.quiz_content import GRADABLE_ITEMS, SPECS_BY_KEY, correct_response, make_quiz

pytestmark = pytest.mark.django_db


def _answer_all(client, attempt):
    keys = dict(Question.objects.values_list("pk", "key"))
    for question in attempt["questions"]:
        targets = question.get("parts") or [question]
        for target in targets:
            body = correct_response(target, SPECS_BY_KEY[keys[target["id"]]])
            r = client.put(f"/api/v1/attempts/{attempt['id']}/answers/{target['id']}/", body, format="json")
            assert r.status_code == 200, r.json()


def test_start_answer_everything_correctly_submit_and_pass(logged_in_api):
    quiz = make_quiz()
    started = logged_in_api.post(f"/api/v1/quizzes/{quiz.pk}/attempts/")
    assert started.status_code == 201
    attempt = started.json()
    assert logged_in_api.post(f"/api/v1/quizzes/{quiz.pk}/attempts/").status_code == 200
    _answer_all(logged_in_api, attempt)
    submitted = logged_in_api.post(f"/api/v1/attempts/{attempt['id']}/submit/")
    assert submitted.status_code == 200
    body = submitted.json()
    assert body["score"] == "100.00" and body["passed"] is True and body["graded_now"] is True
    again = logged_in_api.post(f"/api/v1/attempts/{attempt['id']}/submit/").json()
    assert again["graded_now"] is False and again["score"] == "100.00"
    db_attempt = Attempt.objects.get(pk=attempt["id"])
    assert db_attempt.max_points == GRADABLE_ITEMS
    assert db_attempt.answers.filter(points=1).count() == GRADABLE_ITEMS


def test_unanswered_submit_fails_and_names_critical_objectives(logged_in_api):
    quiz = make_quiz()
    attempt = logged_in_api.post(f"/api/v1/quizzes/{quiz.pk}/attempts/").json()
    body = logged_in_api.post(f"/api/v1/attempts/{attempt['id']}/submit/").json()
    assert body["passed"] is False
    assert body["score"] == "0.00"
    assert body["critical_missed_objectives"] == ["T-2"]
