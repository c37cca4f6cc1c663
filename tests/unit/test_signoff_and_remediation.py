"""Observed-skill sign-off and remediation (issue 11).

Sign-off: a course with required skills is not complete, and issues no certificate, until a supervisor or
admin of the person signs every skill off in person (date, observer, notes); anyone else is refused; the
sign-off is idempotent and audited; /team/signoffs/ lists who awaits and signs off.

Remediation: after a failed attempt the result page lists the lessons of the missed objectives, and the
next attempt draws `remediation_extra_questions` more questions from those objectives."""

import re
from collections import Counter
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.services import grant_surveyor_access
from core import audit
from core.models import AuditEvent
from courses.certificates import services as certificates
from courses.enrollment import selectors, services
from courses.models import Certificate, Enrollment, RequiredSkill, SkillSignoff
from courses.reports import selectors as reports
from quizzes import selectors as quiz_selectors
from quizzes.models import Question
from tests.beyond_helpers import SKILLS, load, write_course
from tests.course_helpers import read_all_lessons, take_quiz
from tests.factories import DepartmentFactory, UserFactory
from tests.quiz_content import correct_response
from tests.quiz_helpers import flat_payloads, wrong_response

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def skilled(tmp_path, clock):
    """One module, two lessons, a quiz, two required skills, no CE hours (a certificate at completion)."""
    return load(
        write_course(
            tmp_path, slug="skills-course", skills=SKILLS, ce_hours=0, modules=("ma",), with_final=False
        )
    )


@pytest.fixture
def team(db):
    ward, other_ward = DepartmentFactory(code="ward"), DepartmentFactory(code="other-ward")
    supervisor = UserFactory(role=Role.SUPERVISOR, department=ward, first_name="Sam", last_name="Sup")
    people = {
        "ward": ward,
        "supervisor": supervisor,
        "learner": UserFactory(department=ward, supervisor=supervisor, first_name="Lee", last_name="Learner"),
        "other_supervisor": UserFactory(role=Role.SUPERVISOR, department=ward),
        "department_admin": UserFactory(role=Role.DEPARTMENT_ADMIN, department=ward),
        "other_department_admin": UserFactory(role=Role.DEPARTMENT_ADMIN, department=other_ward),
        "admin": UserFactory(role=Role.ADMIN, department=ward),
        "peer": UserFactory(department=ward, supervisor=supervisor),
        "surveyor": UserFactory(role=Role.SURVEYOR),
    }
    people["other_report"] = UserFactory(
        department=other_ward, supervisor=people["other_supervisor"], first_name="Ola", last_name="Elsewhere"
    )
    today = timezone.localdate()
    grant_surveyor_access(
        user=people["surveyor"],
        departments=[ward],
        records_from=today - timedelta(days=365),
        records_to=today,
        expires_at=timezone.now() + timedelta(days=30),
    )
    return people


def enrol(user, tiny) -> Enrollment:
    enrollment, _ = services.enroll(user=user, course=tiny.course)
    return enrollment


def skills_of(tiny) -> list[RequiredSkill]:
    return list(RequiredSkill.objects.filter(version=tiny.version).order_by("position"))


def sign(observer, enrollment, skill, *, days_ago: int = 0, notes: str = "Observed on the manikin"):
    return services.sign_off_skill(
        observer=observer,
        enrollment_id=enrollment.pk,
        skill_id=skill.pk,
        observed_on=timezone.localdate() - timedelta(days=days_ago),
        notes=notes,
    )


# --- completion waits for the sign-offs -----------------------------------------------------------------


def test_no_completion_and_no_certificate_until_every_skill_is_signed(
    skilled, team, django_capture_on_commit_callbacks
):
    learner, supervisor = team["learner"], team["supervisor"]
    enrollment = enrol(learner, skilled)
    assert [s.key for s in skills_of(skilled)] == [s["key"] for s in SKILLS]
    assert enrollment.signoffs_total == 2

    with django_capture_on_commit_callbacks(execute=True):
        read_all_lessons(learner, skilled.version)
        assert take_quiz(learner, skilled.modules[0].quiz, skilled.specs).passed is True
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.IN_PROGRESS and enrollment.completed_at is None
    assert (enrollment.signoffs_done, enrollment.progress_percent) == (0, 60)  # 3 of 5 steps
    assert not Certificate.objects.exists()
    assert certificates.issue_certificate(enrollment_id=enrollment.pk).reason == "enrollment not completed"

    first, second = skills_of(skilled)
    with django_capture_on_commit_callbacks(execute=True):
        sign(supervisor, enrollment, first)
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.IN_PROGRESS and enrollment.signoffs_done == 1
    assert not Certificate.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        sign(supervisor, enrollment, second, days_ago=2)
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.COMPLETED and enrollment.progress_percent == 100
    certificate = Certificate.objects.get(enrollment=enrollment)  # issued by the completion hook
    assert certificate.user == learner and len(mail.outbox) == 1
    outline = selectors.course_outline(enrollment=enrollment)
    assert [(skill.key, signoff.observer_id) for skill, signoff in outline.skills] == [
        (s["key"], supervisor.pk) for s in SKILLS
    ]


def test_the_course_page_shows_the_skills_waiting_for_sign_off(skilled, team, client):
    learner = team["learner"]
    enrollment = enrol(learner, skilled)
    sign(team["supervisor"], enrollment, skills_of(skilled)[0])
    client.force_login(learner)
    html = client.get(reverse("frontend:course", args=[skilled.course.slug])).content.decode()
    assert html.count("Waiting for sign-off") == 1
    assert "Signed off" in html and SKILLS[1]["title"] in html


# --- who may sign off ---------------------------------------------------------------------------------


def test_only_a_supervisor_or_admin_of_the_person_may_sign_off(skilled, team):
    learner = team["learner"]
    enrollment = enrol(learner, skilled)
    skill = skills_of(skilled)[0]
    refused = {
        "peer": services.SignoffRefused,  # a learner
        "surveyor": services.SignoffRefused,  # sees the department, never signs
        "other_supervisor": services.NotEnrolled,  # not their report: the same answer as missing
        "other_department_admin": services.NotEnrolled,
    }
    for who, error in refused.items():
        with pytest.raises(error) as caught:
            sign(team[who], enrollment, skill)
        assert caught.value.http_status == (404 if error is services.NotEnrolled else 400), who
    with pytest.raises(services.SignoffRefused):  # the learner themselves
        sign(learner, enrollment, skill)
    with pytest.raises(services.SignoffRefused, match="future"):
        sign(team["supervisor"], enrollment, skill, days_ago=-1)
    with pytest.raises(services.NotEnrolled):
        services.sign_off_skill(
            observer=team["supervisor"],
            enrollment_id=999_999_999,
            skill_id=skill.pk,
            observed_on=timezone.localdate(),
        )
    assert not SkillSignoff.objects.exists()
    assert not AuditEvent.objects.filter(action="skill.signed_off").exists()

    # The department admin of the person's department may, and so may the supervisor.
    first = sign(team["department_admin"], enrollment, skill)
    second = sign(team["supervisor"], enrollment, skills_of(skilled)[1])
    assert (first.observer, second.observer) == (team["department_admin"], team["supervisor"])


def test_an_admin_cannot_sign_off_their_own_skills(skilled, team):
    admin = team["admin"]
    enrollment = enrol(admin, skilled)
    with pytest.raises(services.SignoffRefused, match="own"):
        sign(admin, enrollment, skills_of(skilled)[0])
    assert not SkillSignoff.objects.exists()


def test_a_skill_of_another_course_version_is_refused(skilled, team, tmp_path):
    other = load(write_course(tmp_path / "other", slug="other-course", skills=SKILLS[:1], modules=("ma",)))
    enrollment = enrol(team["learner"], skilled)
    foreign = RequiredSkill.objects.get(version=other.version)
    with pytest.raises(services.SignoffRefused):
        sign(team["supervisor"], enrollment, foreign)
    assert not SkillSignoff.objects.exists()


def test_signing_off_twice_keeps_the_first_record_and_one_audit_event(skilled, team):
    learner, supervisor = team["learner"], team["supervisor"]
    enrollment = enrol(learner, skilled)
    skill = skills_of(skilled)[0]
    first = sign(supervisor, enrollment, skill, days_ago=1, notes="First observation")
    again = sign(team["admin"], enrollment, skill, notes="Second try")
    assert again.pk == first.pk
    again.refresh_from_db()
    assert (again.observer, again.notes, again.observed_on) == (
        supervisor,
        "First observation",
        timezone.localdate() - timedelta(days=1),
    )
    assert SkillSignoff.objects.count() == 1
    enrollment.refresh_from_db()
    assert enrollment.signoffs_done == 1
    (event,) = AuditEvent.objects.filter(action="skill.signed_off")
    assert (event.actor_id, event.subject_user_id) == (supervisor.pk, learner.pk)
    assert event.target_type == "courses.skillsignoff" and event.target_id == str(first.pk)
    assert event.data["skill"] == skill.key
    assert event.data["observed_on"] == (timezone.localdate() - timedelta(days=1)).isoformat()
    assert audit.verify_chain().ok


# --- the supervisor's page ------------------------------------------------------------------------------


def test_signoff_page_lists_who_awaits_and_signs_off(skilled, team, client):
    learner, supervisor = team["learner"], team["supervisor"]
    enrollment = enrol(learner, skilled)
    enrol(team["other_report"], skilled)  # someone else's report
    first, second = skills_of(skilled)

    rows = reports.awaiting_signoff(supervisor)
    assert [(r["enrollment"].user, [s.key for s, done in r["skills"]]) for r in rows] == [
        (learner, [s["key"] for s in SKILLS])
    ]
    client.force_login(supervisor)
    page = client.get(reverse("frontend:team_signoffs")).content.decode()
    assert "Lee Learner" in page and "Ola Elsewhere" not in page
    assert SKILLS[0]["title"] in page and SKILLS[1]["title"] in page
    action = reverse("frontend:team_sign_off", args=[enrollment.pk, first.pk])
    assert f'action="{action}"' in page

    today = timezone.localdate().isoformat()
    response = client.post(action, {"observed_on": today, "notes": "Observed on the manikin"}, follow=True)
    assert "Signed off and recorded." in response.content.decode()
    signoff = SkillSignoff.objects.get(enrollment=enrollment, skill=first)
    assert (signoff.observer, signoff.notes, signoff.observed_on.isoformat()) == (
        supervisor,
        "Observed on the manikin",
        today,
    )
    page = client.get(reverse("frontend:team_signoffs")).content.decode()
    assert f'action="{action}"' not in page  # signed: no form any more
    assert reverse("frontend:team_sign_off", args=[enrollment.pk, second.pk]) in page

    # A date in the wrong format and a supervisor out of scope: an error, nothing recorded.
    bad = client.post(
        reverse("frontend:team_sign_off", args=[enrollment.pk, second.pk]), {"observed_on": "yesterday"}
    )
    assert bad.status_code == 302 and SkillSignoff.objects.count() == 1
    client.force_login(team["other_supervisor"])
    response = client.post(
        reverse("frontend:team_sign_off", args=[enrollment.pk, second.pk]),
        {"observed_on": today},
        follow=True,
    )
    assert "No such enrollment." in response.content.decode()
    assert SkillSignoff.objects.count() == 1

    # When every skill is signed the person leaves the list.
    sign(supervisor, enrollment, second)
    assert reports.awaiting_signoff(supervisor) == []


@pytest.mark.parametrize("who", ["learner", "surveyor"])
def test_signoff_page_is_not_for_learners_or_surveyors(skilled, team, client, who):
    enrollment = enrol(team["learner"], skilled)
    skill = skills_of(skilled)[0]
    client.force_login(team[who])
    assert client.get(reverse("frontend:team_signoffs")).status_code == 404
    response = client.post(
        reverse("frontend:team_sign_off", args=[enrollment.pk, skill.pk]),
        {"observed_on": timezone.localdate().isoformat()},
    )
    # (a surveyor's write never reaches the view: the read-only rule refuses it, accounts/access.py)
    assert response.status_code in ((403,) if who == "surveyor" else (302, 404))
    assert not SkillSignoff.objects.exists()


# --- remediation ----------------------------------------------------------------------------------------

EXTRA = 2


@pytest.fixture
def remedial(tmp_path):
    """Two modules (objectives MA-1 and MB-1, four questions each); the final exam draws two from each
    bank, and two more from the missed objectives on a retake after a fail."""
    return load(write_course(tmp_path, slug="remedy", final={"remediation_extra_questions": EXTRA}))


def answer_missing(attempt, user, specs, *, wrong_prefix: str | None) -> None:
    """Answer every item; those whose key starts with `wrong_prefix` wrongly."""
    keys = dict(
        Question.objects.filter(pk__in=[int(k) for k in attempt.layout["items"]]).values_list("pk", "key")
    )
    for payload in flat_payloads(quiz_selectors.attempt_for_learner(attempt)):
        key = keys[payload["id"]]
        wrong = wrong_prefix is not None and key.startswith(wrong_prefix)
        body = (wrong_response if wrong else correct_response)(payload, specs[key])
        services.save_quiz_answer(attempt_id=attempt.pk, user=user, question_id=payload["id"], response=body)


def attempt_objectives(attempt) -> Counter:
    return Counter(
        Question.objects.filter(pk__in=attempt.layout["order"]).values_list("objective", flat=True)
    )


def draw_count(quiz) -> int:
    return sum(rule.count for rule in quiz.draw_rules.all())


def remediation_section(html: str) -> str:
    match = re.search(r'<section class="remediation".*?</section>', html, re.DOTALL)
    return match.group(0) if match else ""


@pytest.mark.parametrize(("missed", "kept"), [("ma", "mb"), ("mb", "ma")])
def test_a_failed_attempt_points_to_the_lessons_and_the_retake_draws_more_on_them(
    remedial, client, missed, kept
):
    learner = UserFactory()
    services.enroll(user=learner, course=remedial.course)
    read_all_lessons(learner, remedial.version)
    final = remedial.version.final_exam
    assert final.remediation_extra_questions == EXTRA and draw_count(final) == 4

    first, _ = services.start_quiz_attempt(user=learner, quiz=final)
    assert len(first.layout["order"]) == draw_count(final)
    answer_missing(first, learner, remedial.specs, wrong_prefix=f"remedy-{missed}-")
    first = services.submit_quiz_attempt(attempt_id=first.pk, user=learner).attempt
    assert first.passed is False
    assert selectors.missed_objectives(attempt=first) == [f"{missed.upper()}-1"]

    client.force_login(learner)
    html = client.get(reverse("frontend:attempt_result", args=[first.pk])).content.decode()
    section = remediation_section(html)
    assert "Lessons to revisit" in section and "extra questions" in section
    for number in (1, 2):
        assert f"Lesson {number} of {missed}" in section
        assert f"Lesson {number} of {kept}" not in section

    second, created = services.start_quiz_attempt(user=learner, quiz=final)
    assert created
    assert len(second.layout["order"]) == draw_count(final) + EXTRA
    # Two from each bank by the draw rules, and the extra ones from the missed objective only.
    assert attempt_objectives(second) == {f"{missed.upper()}-1": 2 + EXTRA, f"{kept.upper()}-1": 2}


def test_no_extra_questions_after_a_pass_even_with_a_miss_and_no_lessons_listed(tmp_path, client):
    lenient = load(
        write_course(
            tmp_path, slug="remedy-pass", final={"remediation_extra_questions": EXTRA, "pass_mark": 50}
        )
    )
    learner = UserFactory()
    services.enroll(user=learner, course=lenient.course)
    read_all_lessons(learner, lenient.version)
    final = lenient.version.final_exam
    attempt, _ = services.start_quiz_attempt(user=learner, quiz=final)
    # One item wrong (not a safety-critical one): a pass with a missed objective.
    keys = dict(
        Question.objects.filter(pk__in=[int(k) for k in attempt.layout["items"]]).values_list("pk", "key")
    )
    payloads = flat_payloads(quiz_selectors.attempt_for_learner(attempt))
    missed_id = next(p["id"] for p in payloads if not Question.objects.get(pk=p["id"]).critical)
    for payload in payloads:
        spec = lenient.specs[keys[payload["id"]]]
        body = (wrong_response if payload["id"] == missed_id else correct_response)(payload, spec)
        services.save_quiz_answer(
            attempt_id=attempt.pk, user=learner, question_id=payload["id"], response=body
        )
    passed = services.submit_quiz_attempt(attempt_id=attempt.pk, user=learner).attempt
    assert passed.passed is True and selectors.missed_objectives(attempt=passed) != []

    client.force_login(learner)
    html = client.get(reverse("frontend:attempt_result", args=[passed.pk])).content.decode()
    assert remediation_section(html) == "" and "Lessons to revisit" not in html
    practice, _ = services.start_quiz_attempt(user=learner, quiz=final)
    assert len(practice.layout["order"]) == draw_count(final)


def test_a_quiz_without_the_setting_draws_no_extra_questions(tmp_path):
    plain = load(write_course(tmp_path, slug="plain-final"))
    learner = UserFactory()
    services.enroll(user=learner, course=plain.course)
    read_all_lessons(learner, plain.version)
    final = plain.version.final_exam
    assert final.remediation_extra_questions == 0
    failed = take_quiz(learner, final, plain.specs, correct=False)
    assert failed.passed is False
    retake, _ = services.start_quiz_attempt(user=learner, quiz=final)
    assert len(retake.layout["order"]) == draw_count(final)
