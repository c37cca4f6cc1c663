"""Reporting a manager can act on (issue 17, point 9): page by page, what each report now says, with the
selectors' query counts fixed whatever the data."""

import html
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from accounts import staff_import
from accounts.models import Department, Role
from courses.certificates import services as certificates
from courses.enrollment import services
from courses.models import Certificate, Enrollment, ExportJob, RequiredSkill
from courses.reports import exports
from courses.reports import selectors as reports
from frontend.templatetags.quiz_tags import score
from tests.course_helpers import load_tiny, read_all_lessons, take_quiz
from tests.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db

SKILLS = [
    {"key": "recovery-position", "title": "Recovery position on a manikin", "description": "Observed."},
    {"key": "nasal-naloxone", "title": "Nasal naloxone on a trainer", "description": "Observed."},
]


def body(response) -> str:
    assert response.status_code == 200, response.status_code
    return html.unescape(response.content.decode())


@pytest.fixture
def team(tmp_path, django_capture_on_commit_callbacks):
    """A supervisor and three people on a tiny course with two skills: one finished (certificate), one
    waiting only for sign-offs, one who has not started."""
    tiny = load_tiny(tmp_path, course_extra={"skills": SKILLS})
    ward = DepartmentFactory(name="Ward A", code="ward-a")
    boss = UserFactory(username="boss", role=Role.SUPERVISOR, department=ward)
    people = {
        name: UserFactory(
            username=name, first_name=name.title(), last_name="Person", department=ward, supervisor=boss
        )
        for name in ("finished", "waiting", "fresh")
    }
    for name, person in people.items():
        enrollment, _ = services.enroll(user=person, course=tiny.course)
        if name == "fresh":
            continue
        read_all_lessons(person, tiny.version)
        for module in tiny.modules:
            take_quiz(person, module.quiz, tiny.specs)
        take_quiz(person, tiny.version.final_exam, tiny.specs)
        if name == "finished":
            for skill in RequiredSkill.objects.filter(version=tiny.version):
                services.sign_off_skill(
                    observer=boss,
                    enrollment_id=enrollment.pk,
                    skill_id=skill.pk,
                    observed_on=timezone.localdate(),
                )
            certificates.submit_evaluation(
                user=person,
                enrollment_id=enrollment.pk,
                ratings={"relevance": 5, "clarity": 5, "confidence": 5},
            )
            certificates.issue_certificate(enrollment_id=enrollment.pk)  # what the task queued on commit does
    return SimpleNamespace(tiny=tiny, boss=boss, people=people, ward=ward)


def test_quiz_statistics_lists_every_module_quiz_and_the_final_exam(client, team, django_assert_num_queries):
    with django_assert_num_queries(2):
        rows = reports.report_quizzes()
    assert [r.is_final for r in rows] == [False, False, True]
    client.force_login(team.boss)
    text = body(client.get("/team/quizzes/"))
    for module in team.tiny.modules:
        assert f"/team/quizzes/{module.quiz.pk}/" in text
    assert f"/team/quizzes/{team.tiny.version.final_exam_id}/" in text and "final exam" in text


def test_item_statistics_show_stems_choice_texts_and_explain_the_numbers(client, team):
    quiz = team.tiny.modules[0].quiz
    client.force_login(team.boss)
    text = body(client.get(f"/team/quizzes/{quiz.pk}/"))
    single = next(spec for key, spec in team.tiny.specs.items() if key.endswith("ma-single"))
    assert single["stem"].strip()[:40] in text
    for choice in single["choices"]:
        assert choice["text"][:40] in text
    for term in ("Facility</dt>", "Discrimination (r)</dt>", "Upper−lower 27%</dt>", "Picks per choice</dt>"):
        assert term in text
    assert "canvas" in text and "No data yet" not in text


@pytest.mark.parametrize(
    "path, message",
    [
        ("/team/quizzes/{quiz}/", "No data yet: the score distribution appears"),
        ("/team/completions/", "No data yet: nobody in your team has completed"),
    ],
)
def test_empty_charts_say_no_data_yet_instead_of_drawing_an_empty_axis(client, tmp_path, path, message):
    tiny = load_tiny(tmp_path)
    boss = UserFactory(role=Role.SUPERVISOR)
    client.force_login(boss)
    text = body(client.get(path.format(quiz=tiny.modules[0].quiz.pk)))
    assert message in text
    assert "<canvas" not in text


def test_the_matrix_and_its_csv_say_why_someone_is_not_complete(
    client, team, django_assert_num_queries, django_capture_on_commit_callbacks
):
    finished = Enrollment.objects.get(user=team.people["finished"])
    waiting = Enrollment.objects.get(user=team.people["waiting"])
    certificate = Certificate.objects.get(enrollment=finished)
    assert waiting.status == "in_progress" and waiting.progress_percent < 100
    filters = reports.parse_filters({}, courses=[team.tiny.course])
    with django_assert_num_queries(10):
        matrix = reports.team_matrix(team.boss, filters)
    rows = {r.person.username: r for r in matrix.rows}
    assert rows["finished"].certificate == certificate and rows["waiting"].certificate is None

    client.force_login(team.boss)
    text = body(client.get("/team/"))
    for header in ("Skills signed", "Completed", "Certificate"):
        assert f'<th scope="col">{header}</th>' in text
    assert "2 of 2" in text and "0 of 2" in text and "only the sign-off is missing" in text
    assert certificate.number in text and f"expires {certificate.expires_on:%-d %b %Y}" in text

    with django_capture_on_commit_callbacks(execute=True):  # the export task runs on commit
        job = exports.request_export(requested_by=team.boss, kind="matrix", params={})
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE
    csv_text = job.file.open("rb").read().decode("utf-8-sig")
    header, *lines = csv_text.splitlines()
    assert header.endswith("Skills signed,Completed on,Certificate number,Certificate expires")
    finished_line = next(line for line in lines if "Finished Person" in line)
    assert finished_line.endswith(
        f"2 of 2,{timezone.localdate(finished.completed_at).isoformat()},{certificate.number},"
        f"{certificate.expires_on.isoformat()}"
    )
    waiting_line = next(line for line in lines if "Waiting Person" in line)
    assert waiting_line.endswith("0 of 2,,,")


def test_the_person_page_shows_each_skill_and_its_sign_off(client, team, django_assert_num_queries):
    waiting, finished = team.people["waiting"], team.people["finished"]
    with django_assert_num_queries(10):
        detail = reports.person_detail(team.boss, person_id=finished.pk)
    assert [signoff is not None for _, signoff in detail["skills"][0]["rows"]] == [True, True]
    client.force_login(team.boss)
    text = body(client.get(f"/team/people/{waiting.pk}/"))
    assert "Observed skills" in text and "0 of 2 signed" in text
    assert text.count("<strong>Waiting</strong>") == 2
    text = body(client.get(f"/team/people/{finished.pk}/"))
    assert f"Observed {timezone.localdate():%-d %b %Y} by {team.boss}" in text


def test_the_override_form_groups_fields_by_kind_for_the_script(client, team):
    client.force_login(team.boss)
    text = body(client.get(f"/team/people/{team.people['waiting'].pk}/"))
    assert "override_form.js" in text and "data-override-form" in text
    assert 'data-kinds="extra_attempt cooldown_reset time_multiplier"' in text  # the quiz
    assert 'data-kinds="due_date_extension exemption"' in text  # the course
    assert 'data-kinds="time_multiplier"' in text and 'data-kinds="due_date_extension"' in text


@pytest.mark.parametrize(
    "value, shown",
    [("93.3333", "93.3"), ("80.00", "80"), ("79.96", "79.9"), ("100.00", "100"), ("0.00", "0"), (None, "")],
)
def test_scores_show_at_most_one_decimal_and_never_round_up_to_a_pass(value, shown):
    assert score(value) == shown


@pytest.mark.parametrize("rows, text", [(1, "1 row ready."), (2, "2 rows ready."), (0, "0 rows ready.")])
def test_export_progress_pluralises_rows(rows, text):
    job = SimpleNamespace(pk=1, status="done", rows_done=rows, rows_total=rows, file=True, error="")
    html_ = render_to_string("frontend/team/partials/export_progress.html", {"job": job, "poll_url": "/x/"})
    assert text in html_


def test_the_staff_import_preview_lists_values_not_field_names():
    Department.objects.create(name="Night nursing", code="night")
    report = staff_import.validate(
        [
            {
                "employee_id": "E9",
                "first_name": "Ada",
                "last_name": "Lovelace",
                "email": "ada@example.org",
                "role": "supervisor",
                "department": "night",
                "supervisor_employee_id": "",
                "hire_date": "2030-01-02",
                "job_title": "Charge nurse",
            }
        ]
    )
    preview = dict(report.rows[0].preview)
    assert preview["First name"] == "Ada" and preview["Department"] == "Night nursing"
    assert preview["Role"] == "Supervisor" and preview["Hire date"] == "2030-01-02"
    assert "department_id" not in preview


def test_a_result_with_every_answer_right_does_not_offer_which_answers_were_wrong(client, tmp_path):
    tiny = load_tiny(tmp_path, quiz={"review_policy": "wrong"})
    learner = UserFactory()
    services.enroll(user=learner, course=tiny.course)
    read_all_lessons(learner, tiny.version)
    right = take_quiz(learner, tiny.modules[0].quiz, tiny.specs)
    client.force_login(learner)
    text = body(client.get(f"/attempts/{right.pk}/result/"))
    assert "Every answer was right" in text and "Which answers were wrong" not in text
    wrong = take_quiz(learner, tiny.modules[1].quiz, tiny.specs, correct=False)
    text = body(client.get(f"/attempts/{wrong.pk}/result/"))
    assert "Which answers were wrong" in text and "Every answer was right" not in text


def test_the_picture_item_asks_about_signs_now():
    from pathlib import Path

    bank = (
        Path(__file__).resolve().parents[2] / "courses/content/substance-use-safety/banks/ds.yaml"
    ).read_text()
    assert "Match each picture" not in bank and "Match each set of signs" in bank


def test_a_certificate_expiring_soon_shows_its_days_left(team):
    finished = Enrollment.objects.get(user=team.people["finished"])
    Certificate.objects.filter(enrollment=finished).update(
        expires_on=timezone.localdate() + timedelta(days=10)
    )
    items = reports.team_action_items(team.boss)
    assert [(c.user.username, c.days_left) for c in items.expiring] == [("finished", 10)]
