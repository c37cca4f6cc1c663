from django.urls import path

from . import api

urlpatterns = [
    path("quizzes/<int:quiz_id>/attempts/", api.StartAttemptView.as_view(), name="quiz-start-attempt"),
    path("attempts/<int:attempt_id>/", api.AttemptDetailView.as_view(), name="attempt-detail"),
    path(
        "attempts/<int:attempt_id>/answers/<str:question_id>/",
        api.SaveAnswerView.as_view(),
        name="attempt-answer",
    ),
    path("attempts/<int:attempt_id>/submit/", api.SubmitAttemptView.as_view(), name="attempt-submit"),
]
