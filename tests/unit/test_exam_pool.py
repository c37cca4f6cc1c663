"""The reserved exam pool (issue 24, finding 1): a certifying quiz draws only exam-pool questions and
reviews by objective; every other quiz draws only practice-pool questions and keeps its full review."""

import pytest
import yaml

from courses.catalog import services as course_services
from courses.enrollment import services as enrollment_services
from quizzes import services
from quizzes.errors import ContentError
from quizzes.models import Question
from tests.course_helpers import (
    exam_bank,
    load_tiny,
    read_all_lessons,
    take_quiz,
    tiny_bank,
    write_tiny_course,
)
from tests.factories import UserFactory
from tests.quiz_content import QUIZ_SETTINGS, q

pytestmark = pytest.mark.django_db


def one_objective_bank(prefix: str, objective: str, n: int) -> list[dict]:
    return [
        q(
            f"{prefix}-{i}",
            "single",
            objective=objective,
            choices=[
                {"text": f"{prefix} right {i}", "correct": True, "feedback": f"FEEDBACK {prefix} {i}"},
                {"text": f"{prefix} wrong {i}", "correct": False},
                {"text": f"{prefix} other {i}", "correct": False},
            ],
        )
        for i in range(n)
    ]


@pytest.fixture
def pools():
    """Objective P-1 has 4 practice and 4 exam items; P-2 has 3 practice items and 1 exam item."""
    services.import_bank(key="prac", title="Practice", questions=one_objective_bank("prac", "P-1", 4))
    services.import_bank(key="prac2", title="Practice 2", questions=one_objective_bank("prac2", "P-2", 3))
    services.import_bank(
        key="exam", title="Exam", questions=one_objective_bank("exam", "P-1", 4), pool="exam"
    )
    services.import_bank(
        key="exam2", title="Exam 2", questions=one_objective_bank("exam2", "P-2", 1), pool="exam"
    )


CERTIFYING = {**QUIZ_SETTINGS, "certifying": True, "review_policy": "objectives", "kind": "final"}


def drawn_keys(quiz, n=15) -> set[str]:
    keys = set()
    for _ in range(n):
        attempt, _ = services.start_attempt(user=UserFactory(), quiz=quiz)
        keys |= set(Question.objects.filter(pk__in=attempt.layout["order"]).values_list("key", flat=True))
    return keys


def test_objective_rules_draw_from_the_quiz_pool_only(pools):
    practice, _ = services.upsert_quiz(
        key="p", settings_=QUIZ_SETTINGS, draw=[{"objective": "P-1", "count": 2}]
    )
    exam, _ = services.upsert_quiz(key="e", settings_=CERTIFYING, draw=[{"objective": "P-1", "count": 2}])
    assert practice.pool == "practice" and exam.pool == "exam"
    assert drawn_keys(practice) == {f"prac-{i}" for i in range(4)}
    assert drawn_keys(exam) == {f"exam-{i}" for i in range(4)}


def test_bank_rule_on_the_wrong_pool_is_a_loader_error(pools):
    with pytest.raises(ContentError) as certifying:
        services.upsert_quiz(key="e", settings_=CERTIFYING, draw=[{"bank": "prac", "count": 2}])
    assert "certifying quiz draws only from exam-pool banks" in str(certifying.value.problems)
    with pytest.raises(ContentError) as practice:
        services.upsert_quiz(key="p", settings_=QUIZ_SETTINGS, draw=[{"bank": "exam", "count": 2}])
    assert "never draws from the reserved exam pool" in str(practice.value.problems)


def test_a_certifying_quiz_whose_rules_cannot_be_filled_is_refused(pools):
    # P-2 has three practice items but one exam item: only exam items count for a certifying quiz.
    with pytest.raises(ContentError) as error:
        services.upsert_quiz(key="e", settings_=CERTIFYING, draw=[{"objective": "P-2", "count": 3}])
    assert "wants 3 exam-pool questions, only 1 exist" in str(error.value.problems)
    services.upsert_quiz(key="p", settings_=QUIZ_SETTINGS, draw=[{"objective": "P-2", "count": 3}])


@pytest.mark.parametrize("policy", ["none", "score", "wrong", "full"])
def test_a_certifying_quiz_must_review_by_objective(pools, policy):
    with pytest.raises(ContentError) as error:
        services.upsert_quiz(
            key="e", settings_={**CERTIFYING, "review_policy": policy}, draw=[{"bank": "exam", "count": 1}]
        )
    assert "must use review_policy: objectives" in str(error.value.problems)


def test_a_bank_cannot_change_pool_and_a_key_cannot_cross_pools(pools):
    with pytest.raises(ContentError, match="practice-pool bank and cannot become exam"):
        services.import_bank(
            key="prac", title="Practice", questions=one_objective_bank("prac", "P-1", 4), pool="exam"
        )
    with pytest.raises(ContentError, match="already used in the other pool: prac-0"):
        services.import_bank(
            key="exam3", title="Exam", questions=one_objective_bank("prac", "P-1", 1), pool="exam"
        )


def test_remediation_draws_of_a_practice_quiz_never_reach_the_exam_pool(pools):
    quiz, _ = services.upsert_quiz(
        key="p",
        settings_={**QUIZ_SETTINGS, "remediation_extra_questions": 4},
        draw=[{"bank": "prac2", "count": 1}],
    )
    user = UserFactory()
    attempt, _ = services.start_attempt(user=user, quiz=quiz)
    services.submit_attempt(attempt_id=attempt.pk, user=user)  # nothing answered: fails on P-2
    retake, _ = services.start_attempt(user=user, quiz=quiz)
    keys = set(Question.objects.filter(pk__in=retake.layout["order"]).values_list("key", flat=True))
    assert len(keys) == 3 and keys <= {f"prac2-{i}" for i in range(3)}


def test_remediation_draws_of_a_certifying_quiz_stay_in_the_exam_pool(pools):
    quiz, _ = services.upsert_quiz(
        key="e",
        settings_={**CERTIFYING, "remediation_extra_questions": 3},
        draw=[{"bank": "exam2", "count": 1}, {"bank": "exam", "count": 1}],
    )
    user = UserFactory()
    attempt, _ = services.start_attempt(user=user, quiz=quiz, now=None)
    services.submit_attempt(attempt_id=attempt.pk, user=user)
    retake, _ = services.start_attempt(user=user, quiz=quiz)
    keys = set(Question.objects.filter(pk__in=retake.layout["order"]).values_list("key", flat=True))
    assert len(keys) == 5 and all(k.startswith("exam") for k in keys)


def test_certifying_review_shows_score_and_objectives_never_keys(pools, logged_in_api, user):
    quiz, _ = services.upsert_quiz(
        key="e", settings_=CERTIFYING, draw=[{"bank": "exam", "count": 4}, {"bank": "exam2", "count": 1}]
    )
    started = logged_in_api.post(f"/api/v1/quizzes/{quiz.pk}/attempts/").json()
    # answer only the P-1 items, all correctly
    for question in started["questions"]:
        stem = Question.objects.get(pk=question["id"]).key
        if stem.startswith("exam-"):
            right = next(c["id"] for c in question["choices"] if " right " in c["text"])
            logged_in_api.put(
                f"/api/v1/attempts/{started['id']}/answers/{question['id']}/",
                {"choice_ids": [right]},
                format="json",
            )
    submitted = logged_in_api.post(f"/api/v1/attempts/{started['id']}/submit/")
    for response in (submitted, logged_in_api.get(f"/api/v1/attempts/{started['id']}/")):
        body = response.json()
        assert body["score"] == "80.00" and body["passed"] is True
        assert body["objectives_to_revisit"] == ["P-2"]
        # the submit answers with the grade only; the GET carries the questions
        assert all("review" not in question for question in body.get("questions", []))
        text = response.content.decode().lower()
        for word in ("feedback", "explanation", "correct", "is_correct", "points"):
            assert word not in text, word


def test_practice_quiz_keeps_full_feedback(pools, logged_in_api):
    quiz, _ = services.upsert_quiz(key="p", settings_=QUIZ_SETTINGS, draw=[{"bank": "prac", "count": 2}])
    started = logged_in_api.post(f"/api/v1/quizzes/{quiz.pk}/attempts/").json()
    submitted = logged_in_api.post(f"/api/v1/attempts/{started['id']}/submit/").json()
    assert "objectives_to_revisit" not in submitted
    body = logged_in_api.get(f"/api/v1/attempts/{started['id']}/").json()
    assert all({"correct_answer", "explanation", "feedback"} <= set(q["review"]) for q in body["questions"])
    assert "objectives_to_revisit" not in body


def test_course_loader_reads_the_pool_and_certifying_settings(tmp_path):
    tiny = load_tiny(tmp_path, certifying_final=True)
    final = tiny.version.final_exam
    assert final.certifying and final.review_policy == "objectives"
    assert {r.bank.pool for r in final.draw_rules.select_related("bank")} == {"exam"}
    assert {r.bank.pool for m in tiny.modules for r in m.quiz.draw_rules.select_related("bank")} == {
        "practice"
    }


def test_course_loader_refuses_a_certifying_final_on_practice_banks(tmp_path):
    root = write_tiny_course(tmp_path, certifying_final=True)
    course = yaml.safe_load((root / "course.yaml").read_text())
    course["final_exam"]["draw"] = [{"bank": "tiny-course-ma", "count": 2}]
    (root / "course.yaml").write_text(yaml.safe_dump(course))
    with pytest.raises(ContentError) as error:
        course_services.load_course(path=root)
    assert "names practice-pool bank tiny-course-ma" in str(error.value.problems)


def test_course_loader_refuses_an_unknown_pool(tmp_path):
    root = write_tiny_course(tmp_path)
    bank = yaml.safe_load((root / "banks" / "ma.yaml").read_text())
    (root / "banks" / "ma.yaml").write_text(yaml.safe_dump({**bank, "pool": "secret"}))
    with pytest.raises(ContentError, match="pool must be practice or exam"):
        course_services.load_course(path=root)


def test_certifying_final_result_page_lists_objectives_not_answers(tmp_path, client):
    tiny = load_tiny(tmp_path, certifying_final=True)
    learner = UserFactory()
    enrollment_services.enroll(user=learner, course=tiny.course)
    read_all_lessons(learner, tiny.version)
    for module in tiny.modules:
        take_quiz(learner, module.quiz, tiny.specs)
    attempt = take_quiz(learner, tiny.version.final_exam, tiny.specs, correct=False)
    assert attempt.passed is False
    client.force_login(learner)
    page = client.get(f"/attempts/{attempt.pk}/result/").content.decode()
    # the objective in words, not its code (issue 16: no objective codes in learner-facing text)
    assert "Objectives to revisit" in page and "Objective of module ma." in page and "MA-1" not in page
    for marker in ("review-item", 'class="explanation"', "EXPLANATION-", "FEEDBACK-", "correct answer"):
        assert marker not in page, marker


def test_exam_bank_helper_shares_no_choice_text_with_the_practice_bank():
    def texts(bank):
        out = set()
        for spec in bank + [p for s in bank for p in s.get("parts", [])]:
            out |= {c["text"] for c in spec.get("choices", [])} | set(spec.get("items", []))
            out |= {p["left"] for p in spec.get("pairs", [])}
        return out

    assert not texts(tiny_bank("a", "X-1")) & texts(exam_bank("a-exam", "X-1"))
