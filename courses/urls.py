from django.urls import path

from courses import api
from courses.certificates.verify_views import VerifyCertificateAPI
from courses.reports import api as reports_api

urlpatterns = [
    path("courses/", api.CourseListView.as_view(), name="course-list"),
    path("courses/<slug:slug>/", api.CourseDetailView.as_view(), name="course-detail"),
    path("courses/<slug:slug>/enroll/", api.SelfEnrollView.as_view(), name="course-self-enroll"),
    path("lessons/<int:lesson_id>/complete/", api.LessonCompleteView.as_view(), name="lesson-complete"),
    path("me/progress/", api.MyProgressView.as_view(), name="my-progress"),
    path("me/certificates/", api.MyCertificatesView.as_view(), name="my-certificates"),
    path("certificates/verify/<str:code>/", VerifyCertificateAPI.as_view(), name="certificate-verify"),
    # The quiz engine's endpoints, routed through course orchestration (progress, completion).
    path("quizzes/<int:quiz_id>/attempts/", api.StartAttemptView.as_view(), name="quiz-start-attempt"),
    path("attempts/<int:attempt_id>/", api.AttemptDetailView.as_view(), name="attempt-detail"),
    path(
        "attempts/<int:attempt_id>/answers/<str:question_id>/",
        api.SaveAnswerView.as_view(),
        name="attempt-answer",
    ),
    path("attempts/<int:attempt_id>/submit/", api.SubmitAttemptView.as_view(), name="attempt-submit"),
    path("reports/team-progress/", reports_api.TeamProgressView.as_view(), name="reports-team-progress"),
    path("reports/overdue/", reports_api.OverdueView.as_view(), name="reports-overdue"),
    path(
        "reports/item-analysis/<int:quiz_id>/",
        reports_api.ItemAnalysisView.as_view(),
        name="reports-item-analysis",
    ),
]
