"""Course endpoints of the API contract, and the quiz endpoints routed through course orchestration."""

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from core.serializers import CONFLICT, NOT_FOUND, error
from courses import links
from courses.catalog import selectors as catalog_selectors
from courses.certificates import selectors as certificates_selectors
from courses.enrollment import selectors, services
from courses.models import Course
from courses.serializers import (
    CatalogSerializer,
    CourseDetailSerializer,
    LessonCompletedSerializer,
    LessonTooSoonSerializer,
    MyCertificatesSerializer,
    ProgressSerializer,
    TranscriptSerializer,
)
from quizzes import api as quiz_api
from quizzes.models import Quiz


def _quiz_state_payload(state: selectors.QuizState | None) -> dict | None:
    """A quiz as the learner stands: the one start rule's state, reason and next start time."""
    if state is None:
        return None
    standing = state.standing
    return {
        "id": state.quiz.pk,
        "title": state.quiz.title,
        "state": state.state,
        "reason": state.reason,
        "can_start": state.can_start,
        "next_start_at": state.next_start_at,
        "attempts_used": standing.attempts_used,
        "attempts_allowed": state.attempts_allowed,
        "attempt_limit": state.quiz.attempt_limit,
        "passed": standing.passed,
        "score": str(standing.policy_score) if standing.policy_score is not None else None,
        "grading_policy": state.quiz.grading_policy,
        "open_attempt_id": state.open_attempt_id,
        "time_limit_minutes": state.quiz.time_limit_minutes,
        "time_multiplier": str(state.time_multiplier),
        "pass_mark": state.quiz.pass_mark,
    }


def _progress_payload(enrollment) -> dict:
    progress = selectors.stored_progress(enrollment)
    return {
        "status": enrollment.status,
        "percent": progress.percent,
        "lessons_read": progress.lessons_read,
        "lessons_total": progress.lessons_total,
        "quizzes_passed": progress.quizzes_passed,
        "quizzes_total": progress.quizzes_total,
        "complete": enrollment.status == "completed",
        "due_date": enrollment.due_date,
        "overdue": selectors.is_overdue(enrollment),
        "completed_at": enrollment.completed_at,
        "cycle": enrollment.cycle,
        "version": enrollment.version.number,
    }


class CourseListView(APIView):
    @extend_schema(
        responses={200: CatalogSerializer},
        summary="Assigned and open courses, with my progress",
        operation_id="courses_list",
    )
    def get(self, request):
        entries = selectors.learner_catalog(user=request.user)
        return Response(
            {
                "results": [
                    {
                        "slug": e.course.slug,
                        "title": e.course.title,
                        "summary": e.course.summary,
                        "ce_hours": str(e.course.ce_hours),
                        "enrolled": e.enrollment is not None,
                        "open_enrollment": e.course.open_enrollment,
                        "medically_reviewed": bool(e.version and e.version.is_reviewed),
                        "progress": _progress_payload(e.enrollment) if e.enrollment else None,
                    }
                    for e in entries
                ]
            }
        )


class CourseDetailView(APIView):
    @extend_schema(
        responses={200: CourseDetailSerializer, 404: NOT_FOUND},
        summary="Modules with lessons (id, title, read) and quiz states; the final exam; an open clinical update",
        operation_id="courses_retrieve",
    )
    def get(self, request, slug: str):
        enrollment = selectors.enrollment_for_course(user=request.user, slug=slug)
        if enrollment is None:
            raise NotFound()
        update = selectors.open_clinical_update(user=request.user, course=enrollment.course)
        outline, *update_outline = selectors.course_outlines(
            enrollments=[enrollment] + ([update] if update else [])
        )
        version = outline.version
        return Response(
            {
                "slug": enrollment.course.slug,
                "title": enrollment.course.title,
                "version": version.number,
                "medically_reviewed": version.is_reviewed,
                "medical_reviewer": version.medical_reviewer or None,
                "medical_review_date": version.medical_review_date,
                "progress": _progress_payload(enrollment),
                "modules": [
                    {
                        "key": m.module.key,
                        "title": m.module.title,
                        "lessons": [
                            {"id": lesson.pk, "title": lesson.title, "minutes": lesson.minutes, "read": read}
                            for lesson, read in m.lessons
                        ],
                        "quiz": _quiz_state_payload(m.quiz),
                    }
                    for m in outline.modules
                ],
                "final_exam": _quiz_state_payload(outline.final_exam),
                "clinical_update": {
                    "enrollment_id": update.pk,
                    "version": update.version.number,
                    "due_date": update.due_date,
                    "lessons": [
                        {"id": lesson.pk, "title": lesson.title, "read": read}
                        for m in update_outline[0].modules
                        for lesson, read in m.lessons
                    ],
                    "quiz": _quiz_state_payload(update_outline[0].final_exam),
                }
                if update
                else None,
            }
        )


class LessonCompleteView(APIView):
    @extend_schema(
        request=None,
        responses={
            200: LessonCompletedSerializer,
            404: NOT_FOUND,
            409: error("Too soon: the course's minimum reading time", LessonTooSoonSerializer),
        },
        summary="Mark a lesson read (idempotent); 409 with seconds_remaining before the course minimum time",
    )
    def post(self, request, lesson_id: int):
        enrollment = services.complete_lesson(user=request.user, lesson_id=lesson_id)
        return Response({"lesson_id": lesson_id, "read": True, "progress": _progress_payload(enrollment)})


class MyProgressView(APIView):
    @extend_schema(responses={200: TranscriptSerializer}, summary="My transcript")
    def get(self, request):
        rows = selectors.transcript(user=request.user)
        return Response(
            {
                "results": [
                    {
                        "course": row["enrollment"].course.slug,
                        "title": row["enrollment"].course.title,
                        "ce_hours": str(row["enrollment"].course.ce_hours),
                        "lesson_minutes_recorded": row["enrollment"].lesson_seconds // 60,
                        "progress": _progress_payload(row["enrollment"]),
                        "next_quiz": _quiz_state_payload(row["next_quiz"]),
                        "quizzes": [
                            {
                                "quiz_id": a.quiz_id,
                                "title": a.quiz.title,
                                "best_score": str(a.score),
                                "passed": a.passed,
                                "submitted_at": a.submitted_at,
                            }
                            for a in row["best_attempts"]
                        ],
                    }
                    for row in rows
                ]
            }
        )


class SelfEnrollView(APIView):
    @extend_schema(
        request=None,
        responses={201: ProgressSerializer, 200: ProgressSerializer, 404: NOT_FOUND, 409: CONFLICT},
        summary="Enrol myself in an open course (201), or already enrolled (200): my progress",
    )
    def post(self, request, slug: str):
        course = get_object_or_404(Course, slug=slug)
        enrollment, created = services.self_enroll(user=request.user, course=course)
        return Response(_progress_payload(enrollment), status=201 if created else 200)


class StartAttemptView(quiz_api.StartAttemptView):
    start_service = staticmethod(services.start_quiz_attempt)

    def get_quiz(self, request, quiz_id: int):
        """A quiz of a course the learner is not enrolled in answers exactly like a missing quiz (404),
        so quiz ids cannot be probed; standalone quizzes stay open."""
        quiz = super().get_quiz(request, quiz_id)
        if (
            catalog_selectors.quiz_belongs_to_a_course(quiz=quiz)
            and selectors.enrollment_for_quiz(user=request.user, quiz=quiz) is None
        ):
            raise Http404(f"No {Quiz._meta.object_name} matches the given query.")
        return quiz


class SaveAnswerView(quiz_api.SaveAnswerView):
    save_service = staticmethod(services.save_quiz_answer)


class SubmitAttemptView(quiz_api.SubmitAttemptView):
    submit_service = staticmethod(services.submit_quiz_attempt)


class AttemptDetailView(quiz_api.AttemptDetailView):
    expire_service = staticmethod(services.expire_quiz_attempt)


class MyCertificatesView(APIView):
    @extend_schema(
        responses={200: MyCertificatesSerializer}, summary="My certificates", operation_id="me_certificates"
    )
    def get(self, request):
        today = timezone.localdate()
        return Response(
            {
                "results": [
                    {
                        "number": c.number,
                        "course": c.course_title,
                        "ce_hours": str(c.ce_hours),
                        "completed_on": c.completed_on,
                        "expires_on": c.expires_on,
                        "status": c.status_on(today),
                        "verify_code": c.verify_code,
                        "renews": c.renews.number if c.renews else None,
                        "pdf_url": links.learner_page("certificate_pdf", c.pk),
                    }
                    for c in certificates_selectors.certificates_for(user=request.user)
                ]
            }
        )
