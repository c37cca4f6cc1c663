from django.urls import path

from . import dashboard, views

app_name = "frontend"

urlpatterns = [
    # The attempt page's routes first: Django tries the patterns in order, and the autosave is the
    # busiest page request (none of these paths overlaps another pattern, so the order is free).
    path("attempts/<int:attempt_id>/", views.attempt_page, name="attempt"),
    path("attempts/<int:attempt_id>/autosave/", views.attempt_autosave, name="attempt_autosave"),
    path("attempts/<int:attempt_id>/flag/", views.attempt_flag, name="attempt_flag"),
    path("attempts/<int:attempt_id>/review/", views.attempt_review, name="attempt_review"),
    path("attempts/<int:attempt_id>/submit/", views.attempt_submit, name="attempt_submit"),
    path("attempts/<int:attempt_id>/result/", views.attempt_result, name="attempt_result"),
    path("", views.home, name="home"),
    path("my-courses/", views.my_courses, name="my_courses"),
    path("transcript/", views.transcript, name="transcript"),
    path("certificates/", views.my_certificates, name="certificates"),
    path("certificates/<int:certificate_id>/pdf/", views.certificate_pdf, name="certificate_pdf"),
    path("courses/<slug:slug>/evaluation/", views.course_evaluation, name="evaluation"),
    path("courses/<slug:slug>/", views.course_detail, name="course"),
    path("courses/<slug:slug>/enroll/", views.enroll, name="enroll"),
    path("updates/<int:enrollment_id>/", views.update_detail, name="update"),
    path("lessons/<int:lesson_id>/", views.lesson_detail, name="lesson"),
    path("lessons/<int:lesson_id>/read/", views.lesson_mark_read, name="lesson_read"),
    path("lessons/<int:lesson_id>/ping/", views.lesson_ping, name="lesson_ping"),
    path("quizzes/<int:quiz_id>/", views.quiz_detail, name="quiz"),
    path("quizzes/<int:quiz_id>/start/", views.quiz_start, name="quiz_start"),
    path("team/", dashboard.team, name="team"),
    path("team/overdue/", dashboard.overdue, name="team_overdue"),
    path("team/overdue/<int:enrollment_id>/remind/", dashboard.send_reminder, name="team_remind"),
    path("team/people/<int:person_id>/", dashboard.person, name="team_person"),
    path("team/people/<int:person_id>/overrides/", dashboard.grant_override, name="team_override"),
    path(
        "team/people/<int:person_id>/attempts/<int:attempt_id>/close/",
        dashboard.close_attempt,
        name="team_close_attempt",
    ),
    path("team/quizzes/", dashboard.quiz_list, name="team_quizzes"),
    path("team/quizzes/<int:quiz_id>/", dashboard.quiz_statistics, name="team_quiz"),
    path("team/completions/", dashboard.completions, name="team_completions"),
    path("team/signoffs/", dashboard.signoffs, name="team_signoffs"),
    path("team/evidence/", dashboard.evidence, name="team_evidence"),
    path("team/evidence/<int:pack_id>/", dashboard.evidence_pack, name="team_evidence_pack"),
    path("team/evidence/<int:pack_id>/download/", dashboard.evidence_download, name="team_evidence_download"),
    path("team/signoffs/<int:enrollment_id>/<int:skill_id>/", dashboard.sign_off, name="team_sign_off"),
    path("team/exports/<str:kind>/", dashboard.start_export, name="team_export_start"),
    path("team/exports/job/<int:job_id>/", dashboard.export_status, name="team_export"),
    path("team/exports/job/<int:job_id>/download/", dashboard.export_download, name="team_export_download"),
]
