"""Every endpoint's response bodies held against /api/schema/ by schemathesis' own checks
(response_schema_conformance, status_code_conformance, content_type_conformance), in the states that
matter, for every role: random fuzzing (test_api_fuzzing.py) mostly meets 404s for made-up ids, so here
the ids are real: a started, answered, submitted attempt under each review policy, a refused start, a
lesson read too soon, an issued certificate, reports with data.

Before submission the attempt body must also carry no key, correctness flag or explanation (as in
tests/unit/test_no_leaks.py), whatever the schema allows."""

import json
from collections import Counter

import pytest
from schemathesis.checks import content_type_conformance, response_schema_conformance, status_code_conformance
from schemathesis.core.failures import FailureGroup

from courses.certificates.services import issue_certificate
from courses.scope import can_see_answers, can_view_reports
from tests.certificate_helpers import completed_enrollment, make_course
from tests.quiz_content import SPECS_BY_KEY, correct_response, make_quiz
from tests.quiz_helpers import flat_payloads, single_choice_bank
from tests.security.roles import EVERY_ROLE
from tests.security.test_api_fuzzing import schema

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

CHECKS = [response_schema_conformance, status_code_conformance, content_type_conformance]
FORBIDDEN_BEFORE_SUBMIT = ("correct", "is_correct", "correct_answer", "explanation", "feedback", "review")


class Api:
    def __init__(self, token: str | None):
        self.headers = {"Authorization": f"Token {token}"} if token else {}
        self.validated: Counter = Counter()  # status code -> bodies validated

    def __call__(self, method, path, status, *, path_parameters=None, query=None, body=None):
        operation = schema[path][method]
        kwargs = {"path_parameters": path_parameters or {}, "query": query}
        if body is not None:
            kwargs["body"], kwargs["media_type"] = body, "application/json"
        case = operation.Case(**kwargs)
        response = case.call(headers=self.headers)
        assert response.status_code == status, (method, path, path_parameters, response.text[:500])
        case.validate_response(response, checks=CHECKS, headers=self.headers)
        self.validated[status] += 1
        return json.loads(response.content) if response.content else None


@pytest.fixture
def world(tmp_path):
    from django.core import signals
    from django.db import close_old_connections

    from tests.security.roles import make_org_with_every_role

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        org = make_org_with_every_role(tmp_path)
        org.full_quiz = make_quiz(key="bodies-full", bank_key="bodies-full-bank")
        org.exam = make_quiz(
            key="bodies-exam",
            bank_key="bodies-exam-bank",
            questions=single_choice_bank("bodies-exam", 3),
            certifying=True,
            attempt_limit=1,
        )
        course = make_course(slug="bodies-cert", title="Certificate course", validity_months=24)
        org.certificate = issue_certificate(
            enrollment_id=completed_enrollment(org.learner, course).pk
        ).certificate
        yield org
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _answer_everything(api: Api, attempt: dict) -> None:
    for payload in flat_payloads(attempt):
        from quizzes.models import Question

        spec = SPECS_BY_KEY[Question.objects.get(pk=payload["id"]).key]
        api(
            "PUT",
            "/api/v1/attempts/{attempt_id}/answers/{question_id}/",
            200,
            path_parameters={"attempt_id": attempt["id"], "question_id": str(payload["id"])},
            body=correct_response(payload, spec),
        )


def _assert_no_key(attempt: dict) -> None:
    text = json.dumps(attempt["questions"])
    for key in FORBIDDEN_BEFORE_SUBMIT:
        assert f'"{key}"' not in text, key


def learner_journey(api: Api, org) -> None:
    slug = org.tiny.course.slug
    api("GET", "/api/v1/courses/", 200)
    detail = api("GET", "/api/v1/courses/{slug}/", 200, path_parameters={"slug": slug})
    api("GET", "/api/v1/courses/{slug}/", 404, path_parameters={"slug": "no-such-course"})
    api("POST", "/api/v1/courses/{slug}/enroll/", 200, path_parameters={"slug": slug})
    api("GET", "/api/v1/me/progress/", 200)
    certificates = api("GET", "/api/v1/me/certificates/", 200)
    assert [c["number"] for c in certificates["results"]] == [org.certificate.number]
    # The module quiz is locked until its lessons are read: a refused start with the rule's state.
    module_quiz = detail["modules"][0]["quiz"]
    refused = api(
        "POST", "/api/v1/quizzes/{quiz_id}/attempts/", 409, path_parameters={"quiz_id": module_quiz["id"]}
    )
    assert refused["state"] == "locked"
    lesson = detail["modules"][0]["lessons"][0]
    api("POST", "/api/v1/lessons/{lesson_id}/complete/", 200, path_parameters={"lesson_id": lesson["id"]})

    # A formative quiz with the full review: before submission no key, after it the review.
    started = api(
        "POST", "/api/v1/quizzes/{quiz_id}/attempts/", 201, path_parameters={"quiz_id": org.full_quiz.pk}
    )
    _assert_no_key(started)
    resumed = api(
        "POST", "/api/v1/quizzes/{quiz_id}/attempts/", 200, path_parameters={"quiz_id": org.full_quiz.pk}
    )
    assert resumed["id"] == started["id"]
    _answer_everything(api, started)
    first = flat_payloads(started)[0]
    api(
        "PUT",
        "/api/v1/attempts/{attempt_id}/answers/{question_id}/",
        400,
        path_parameters={"attempt_id": started["id"], "question_id": str(first["id"])},
        body={"choice_ids": "not a list", "order": 3},
    )
    answered = api(
        "GET", "/api/v1/attempts/{attempt_id}/", 200, path_parameters={"attempt_id": started["id"]}
    )
    _assert_no_key(answered)
    assert answered["answered"] == answered["total_items"]
    submitted = api(
        "POST", "/api/v1/attempts/{attempt_id}/submit/", 200, path_parameters={"attempt_id": started["id"]}
    )
    assert submitted["graded_now"] and submitted["passed"] and "score" in submitted
    again = api(
        "POST", "/api/v1/attempts/{attempt_id}/submit/", 200, path_parameters={"attempt_id": started["id"]}
    )
    assert again["graded_now"] is False
    reviewed = api(
        "GET", "/api/v1/attempts/{attempt_id}/", 200, path_parameters={"attempt_id": started["id"]}
    )
    assert all("review" in p for p in flat_payloads(reviewed))
    api(
        "PUT",
        "/api/v1/attempts/{attempt_id}/answers/{question_id}/",
        409,
        path_parameters={"attempt_id": started["id"], "question_id": str(first["id"])},
        body={"choice_ids": []},
    )

    # The certifying exam (review by objective, one attempt): unanswered, submitted, then refused.
    exam = api("POST", "/api/v1/quizzes/{quiz_id}/attempts/", 201, path_parameters={"quiz_id": org.exam.pk})
    _assert_no_key(exam)
    graded = api(
        "POST", "/api/v1/attempts/{attempt_id}/submit/", 200, path_parameters={"attempt_id": exam["id"]}
    )
    assert graded["passed"] is False and graded["objectives_to_revisit"]
    exam_review = api(
        "GET", "/api/v1/attempts/{attempt_id}/", 200, path_parameters={"attempt_id": exam["id"]}
    )
    assert "objectives_to_revisit" in exam_review
    api("POST", "/api/v1/quizzes/{quiz_id}/attempts/", 409, path_parameters={"quiz_id": org.exam.pk})
    api("GET", "/api/v1/attempts/{attempt_id}/", 404, path_parameters={"attempt_id": 987654})


def staff_journey(api: Api, org, *, sees_answers: bool) -> None:
    for query in ({}, {"course": org.tiny.course.slug}, {"course": org.tiny.course.slug, "sort": "-name"}):
        matrix = api("GET", "/api/v1/reports/team-progress/", 200, query=query)
        assert matrix["results"]
    api("GET", "/api/v1/reports/team-progress/", 400, query={"sort": "password"})
    api("GET", "/api/v1/reports/overdue/", 200)
    api("GET", "/api/v1/reports/overdue/", 400, query={"course": "no-such-course"})
    quiz_id = org.tiny.modules[0].quiz_id
    api(
        "GET",
        "/api/v1/reports/item-analysis/{quiz_id}/",
        200 if sees_answers else 404,
        path_parameters={"quiz_id": quiz_id},
    )
    api("GET", "/api/v1/me/progress/", 200)


def public_calls(api: Api, org) -> None:
    valid = api(
        "GET",
        "/api/v1/certificates/verify/{code}/",
        200,
        path_parameters={"code": org.certificate.verify_code},
    )
    assert valid["status"] == "valid"
    unknown = api("GET", "/api/v1/certificates/verify/{code}/", 200, path_parameters={"code": "NOPE-NOPE"})
    assert unknown["status"] == "unknown"
    api("POST", "/api/v1/auth/token/", 400, body={"username": "lea"})


@pytest.mark.parametrize("role", EVERY_ROLE)
def test_every_response_body_conforms_to_the_schema(role, world):
    api, anonymous = Api(world.tokens[role]), Api(None)
    user = world.users[role]
    if role == "learner":
        learner_journey(api, world)
    elif can_view_reports(user):
        staff_journey(api, world, sees_answers=can_see_answers(user))
        if role == "surveyor":  # read-only: a write is refused with the documented error body
            api(
                "POST",
                "/api/v1/courses/{slug}/enroll/",
                403,
                path_parameters={"slug": world.tiny.course.slug},
            )
    else:  # authors and medical reviewers: their own training; reports answer as missing
        api("GET", "/api/v1/courses/", 200)
        api("GET", "/api/v1/me/progress/", 200)
        api("GET", "/api/v1/me/certificates/", 200)
        api("GET", "/api/v1/reports/team-progress/", 404)
    public_calls(anonymous, world)
    api("POST", "/api/v1/auth/logout/", 204)
    # Shown with -rP: how many bodies each role had validated, by status (the closing note's counts).
    print(
        f"{role}: {sum(api.validated.values())} bodies {dict(sorted(api.validated.items()))}; "
        f"without login: {dict(anonymous.validated)}"
    )
    assert sum(api.validated.values()) >= 5


def test_the_check_fails_a_body_that_breaks_the_schema(world):
    """The conformance check bites: the same call with a body missing a documented key fails."""
    from schemathesis.core.transport import Response

    operation = schema["/api/v1/me/progress/"]["GET"]
    case = operation.Case()
    headers = {"Authorization": f"Token {world.tokens['learner']}"}
    real = case.call(headers=headers)
    case.validate_response(real, checks=CHECKS, headers=headers)
    body = json.loads(real.content)
    del body["results"][0]["progress"]["percent"]
    broken = Response(
        status_code=real.status_code,
        headers=real.headers,
        content=json.dumps(body).encode(),
        request=real.request,
        elapsed=real.elapsed,
        verify=real.verify,
    )
    with pytest.raises(FailureGroup):
        case.validate_response(broken, checks=[response_schema_conformance], headers=headers)
