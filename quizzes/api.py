"""Quiz-taking API (thin): validate input, call a service, shape output with the learner selector.
Refusals (quizzes.errors) answer through the one handler, core.api.exception_handler.

The service each view calls is a class attribute, so the courses app can route the same endpoints
through its course-level orchestration (progress, completion) without the quiz engine knowing it.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import APIView

from core.serializers import BAD_REQUEST, CONFLICT, NOT_FOUND, error

from . import selectors, services
from .errors import InvalidAnswer
from .models import Quiz
from .serializers import (
    AttemptSerializer,
    ResponseBodySerializer,
    SavedAnswerSerializer,
    StartRefusedSerializer,
    SubmissionSerializer,
)

ATTEMPT = OpenApiResponse(
    AttemptSerializer,
    description="The attempt as the learner may see it: before submission no key, correctness or "
    "explanation; after it `score`, `passed`, `critical_missed_objectives` and per-question `review` as the "
    "review policy allows.",
)
START_REFUSED = error("The start rule refused: `state`, `reason`, `retry_at`", StartRefusedSerializer)


class StartAttemptView(APIView):
    start_service = staticmethod(services.start_attempt)

    def get_quiz(self, request, quiz_id: int) -> Quiz:
        return get_object_or_404(Quiz, pk=quiz_id)

    @extend_schema(
        request=None,
        responses={201: ATTEMPT, 200: ATTEMPT, 404: NOT_FOUND, 409: START_REFUSED},
        summary="Start a new attempt (201) or resume the open one (200)",
    )
    def post(self, request, quiz_id: int):
        quiz = self.get_quiz(request, quiz_id)
        attempt, created = self.start_service(user=request.user, quiz=quiz)
        payload = selectors.attempt_for_learner(attempt)
        return Response(payload, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def _json_body(request):
    """The parsed body; malformed JSON is bad input like any other: 400 with field errors."""
    try:
        return request.data
    except ParseError as error:
        raise InvalidAnswer(
            "The body is not valid JSON.", field_errors={"response": [str(error.detail)]}
        ) from None


class SaveAnswerView(APIView):
    save_service = staticmethod(services.save_answer)

    @extend_schema(
        request=ResponseBodySerializer,
        responses={200: SavedAnswerSerializer, 400: BAD_REQUEST, 404: NOT_FOUND, 409: CONFLICT},
        summary="Autosave one answer (idempotent)",
        description='Bodies: `{"choice_ids": [..]}` single/multiple/true-false, `{"order": [..]}` ordering, '
        '`{"pairs": {"left_id": "right_id"}}` matching, `{"value": n}` numeric. Partial answers are accepted.',
    )
    def put(self, request, attempt_id: int, question_id: str):
        # The service checks ownership, state, deadline and ids in its own two queries: no attempt read here.
        # Its refusals (QuizError) answer through core.api.exception_handler.
        answer = self.save_service(
            attempt_id=attempt_id,
            user=request.user,
            question_id=question_id,
            response=_json_body(request),
        )
        return Response({"question_id": answer.question_id, "saved_at": answer.saved_at})


class SubmitAttemptView(APIView):
    submit_service = staticmethod(services.submit_attempt)

    @extend_schema(
        request=None,
        responses={200: SubmissionSerializer, 404: NOT_FOUND},
        summary="Submit and grade once (the questions and review: GET the attempt)",
    )
    def post(self, request, attempt_id: int):
        # The service locks the learner's own attempt (404 otherwise): no separate read here.
        outcome = self.submit_service(attempt_id=attempt_id, user=request.user)
        return Response(selectors.submission_result(outcome.attempt, graded_now=outcome.graded_now))


class AttemptDetailView(APIView):
    expire_service = staticmethod(services.expire_attempt)

    @extend_schema(responses={200: ATTEMPT, 404: NOT_FOUND}, summary="The attempt, review data as allowed")
    def get(self, request, attempt_id: int):
        attempt = selectors.own_attempt(attempt_id=attempt_id, user=request.user)
        if attempt.is_open and selectors.is_past_deadline(attempt):
            # Expired attempts are graded whenever they are next read (the embedded run has no beat).
            self.expire_service(attempt_id=attempt.pk)
            attempt = selectors.own_attempt(attempt_id=attempt.pk, user=request.user)
        return Response(selectors.attempt_for_learner(attempt))
