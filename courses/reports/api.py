"""Reports through the API: the same selectors as the pages, validated with django-filter, paginated."""

import django_filters
from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role
from core.serializers import BAD_REQUEST, error
from courses import scope as course_scope
from courses.enrollment import selectors as enrollment_selectors
from courses.models import Course, Enrollment
from courses.reports import selectors as reports
from courses.serializers import ItemAnalysisSerializer, PersonSerializer, TeamProgressSerializer
from quizzes.models import Quiz

NOT_FOUND = error("Not found, or not allowed to see reports (the same answer)")


class CanViewReports(BasePermission):
    def has_permission(self, request, view):
        if not course_scope.can_view_reports(request.user):
            raise NotFound()  # the same answer as a missing page: no hint that reports exist
        return True


class TeamProgressFilter(django_filters.FilterSet):
    course = django_filters.CharFilter(method="noop")
    department = django_filters.NumberFilter(method="noop")
    role = django_filters.ChoiceFilter(choices=Role.choices, method="noop")
    supervisor = django_filters.NumberFilter(method="noop")
    status = django_filters.ChoiceFilter(choices=[(s, s) for s in reports.STATUSES], method="noop")
    q = django_filters.CharFilter(method="noop", max_length=100)
    sort = django_filters.ChoiceFilter(choices=[(s, s) for s in reports.SORTS], method="noop")

    class Meta:
        model = get_user_model()
        fields: list[str] = []

    def noop(self, queryset, name, value):
        return queryset  # validation only; the reports selector applies the filters


class TeamProgressView(APIView):
    permission_classes = [CanViewReports]

    @extend_schema(
        parameters=[
            OpenApiParameter("course", str, description="course slug"),
            OpenApiParameter("department", int),
            OpenApiParameter("supervisor", int),
            OpenApiParameter("role", str, enum=list(Role.values)),
            OpenApiParameter("status", str, enum=list(reports.STATUSES)),
            OpenApiParameter("q", str, description="search by name or employee id"),
            OpenApiParameter("sort", str, enum=list(reports.SORTS)),
            OpenApiParameter("page", int),
        ],
        responses={200: TeamProgressSerializer, 400: BAD_REQUEST, 404: NOT_FOUND},
        summary="Team progress matrix: people × modules, filtered, sorted by an allow-list, 50 per page",
        operation_id="reports_team_progress",
    )
    def get(self, request):
        check = TeamProgressFilter(request.query_params, queryset=get_user_model().objects.none())
        if not check.is_valid():
            raise ValidationError(check.errors)
        courses = list(Course.objects.order_by("title"))
        filters = reports.parse_filters(request.query_params, courses=courses)
        if filters.errors:
            raise ValidationError(filters.errors)
        try:
            page = int(request.query_params.get("page", "1"))
        except ValueError:
            raise ValidationError({"page": "Must be a number."}) from None
        matrix = reports.team_matrix(request.user, filters, page=page)
        return Response(
            {
                "count": matrix.total,
                "page": matrix.page,
                "pages": matrix.pages,
                "summary": matrix.summary,
                "course": filters.course.slug if filters.course else None,
                "columns": [{"key": k, "title": t} for k, t in matrix.columns],
                "results": [
                    {
                        "person": PersonSerializer(row.person).data,
                        "overdue": row.overdue,
                        "cells": row.cells,
                        "status": row.enrollment.status if row.enrollment else None,
                        "due_date": row.enrollment.due_date if row.enrollment else None,
                        "progress_percent": row.enrollment.progress_percent if row.enrollment else None,
                    }
                    for row in matrix.rows
                ],
            }
        )


class OverdueFilter(django_filters.FilterSet):
    # an unknown slug is a 400, as in team-progress, not an empty "nobody is overdue"
    course = django_filters.ModelChoiceFilter(
        field_name="course", to_field_name="slug", queryset=Course.objects.all()
    )
    department = django_filters.NumberFilter(field_name="user__department_id")

    class Meta:
        model = Enrollment
        fields = ["course", "department"]


class OverdueSerializer(serializers.ModelSerializer):
    person = PersonSerializer(source="user")
    course = serializers.CharField(source="course.slug")
    days_overdue = serializers.SerializerMethodField()
    last_reminder_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        model = Enrollment
        fields = [
            "id",
            "person",
            "course",
            "due_date",
            "days_overdue",
            "progress_percent",
            "status",
            "last_activity_at",
            "last_reminder_at",
        ]

    def get_days_overdue(self, obj) -> int:
        return enrollment_selectors.days_overdue(obj)


@extend_schema_view(
    get=extend_schema(
        operation_id="reports_overdue",
        summary="Overdue enrollments of the people I may report on",
        responses={200: OverdueSerializer(many=True), 400: BAD_REQUEST, 404: NOT_FOUND},
    )
)
class OverdueView(ListAPIView):
    permission_classes = [CanViewReports]
    serializer_class = OverdueSerializer
    filterset_class = OverdueFilter

    def get_queryset(self):
        return reports.overdue_enrollments(self.request.user)


class ItemAnalysisView(APIView):
    permission_classes = [CanViewReports]

    @extend_schema(
        responses={200: ItemAnalysisSerializer, 404: NOT_FOUND},
        operation_id="reports_item_analysis",
        summary="Per-question statistics of a quiz over my staff (first attempts)",
    )
    def get(self, request, quiz_id: int):
        if not course_scope.can_see_answers(request.user):
            raise NotFound()
        quiz = get_object_or_404(Quiz, pk=quiz_id)
        stats = reports.quiz_statistics(request.user, quiz=quiz)
        return Response(
            {
                "quiz": {"id": quiz.pk, "title": quiz.title},
                "attempts": stats["attempts"],
                "pass_rate": stats["pass_rate"],
                "average_minutes": stats["average_minutes"],
                "histogram": stats["histogram"],
                "objectives": [
                    {"objective": o, "facility": f, "responses": n} for o, f, n in stats["objectives"]
                ],
                "questions": [
                    {
                        "id": s.question_id,
                        "key": s.key,
                        "version": s.version,
                        "objective": s.objective,
                        "type": s.type,
                        "responses": s.responses,
                        "facility": s.facility,
                        "discrimination_corrected": s.discrimination_corrected,
                        "discrimination_groups": s.discrimination_groups,
                        "choice_picks": {str(k): v for k, v in s.choice_picks.items()},
                        "flags": s.flags,
                    }
                    for s in stats["items"]
                ],
            }
        )
