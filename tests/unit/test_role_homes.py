"""Role homes and who counts as staff (issue 17, point 7).

- One rule (accounts.models.staff_members) decides who is staff: surveyors and service accounts are
  never counted among the team's "people" or "not assigned", never listed, never assigned training.
- `/` is each role's home: a learner's My courses, a supervisor's or admin's action items (sign-offs
  waiting, overdue, failing, certificates expiring within 30 days), a surveyor's evidence packs; a
  surveyor never sees an Enrol button.
- The action items are one selector with a fixed number of queries whatever the team's size.
"""

import html
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role, SurveyorScope, User, staff_members
from courses import scope as course_scope
from courses.assignments import services as assignments
from courses.certificates import services as certificates
from courses.enrollment import services
from courses.models import AssignmentRule, Enrollment
from courses.reports import selectors as reports_selectors
from tests.certificate_helpers import completed_enrollment, make_course
from tests.course_helpers import load_tiny, read_all_lessons, take_quiz
from tests.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db

SKILLS = [{"key": "recovery-position", "title": "Recovery position on a manikin", "description": "Observed."}]


def body(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def ward():
    return DepartmentFactory(name="Ward A", code="ward-a")


@pytest.fixture
def people(ward):
    today = timezone.localdate()
    boss = UserFactory(username="boss", role=Role.SUPERVISOR, department=ward, last_name="Boss")
    nurse = UserFactory(username="nurse", department=ward, supervisor=boss, last_name="Nurse")
    tech = UserFactory(username="tech", department=ward, supervisor=boss, last_name="Tech")
    admin = UserFactory(
        username="siteadmin", role=Role.ADMIN, department=ward, service_account=True, last_name="Siteadmin"
    )
    surveyor = UserFactory(username="visitor", role=Role.SURVEYOR, department=ward, last_name="Visitor")
    scope = SurveyorScope.objects.create(
        user=surveyor,
        records_from=today - timedelta(days=365),
        records_to=today,
        expires_at=timezone.now() + timedelta(days=7),
    )
    scope.departments.add(ward)
    return {"boss": boss, "nurse": nurse, "tech": tech, "admin": admin, "surveyor": surveyor}


def test_staff_members_leaves_out_surveyors_and_service_accounts(people):
    staff = set(staff_members().values_list("username", flat=True))
    assert staff == {"boss", "nurse", "tech"}
    # the same rule inside every viewer's scope
    assert set(course_scope.visible_staff(people["admin"]).values_list("username", flat=True)) == staff
    assert set(course_scope.visible_staff(people["surveyor"]).values_list("username", flat=True)) == staff
    assert set(course_scope.visible_staff(people["boss"]).values_list("username", flat=True)) == {
        "nurse",
        "tech",
    }


def test_people_and_not_assigned_count_only_staff(client, people, tmp_path):
    tiny = load_tiny(tmp_path)
    services.enroll(user=people["nurse"], course=tiny.course)
    client.force_login(people["admin"])
    text = body(client.get("/team/"))
    cards = {label: int(n) for n, label in re.findall(r"<strong>(\d+)</strong><span>([a-z ]+)</span>", text)}
    assert cards["people"] == 3  # boss, nurse, tech: not the admin service account, not the surveyor
    assert cards["not assigned"] == 2
    assert "Siteadmin" not in text and "Visitor" not in text


def test_assignment_rules_never_assign_surveyors_or_service_accounts(people, tmp_path):
    tiny = load_tiny(tmp_path)
    rule = AssignmentRule(
        name="Everyone",
        course=tiny.course,
        audience=AssignmentRule.Audience.ALL,
        start_date=timezone.localdate(),
        due_days=30,
    )
    assignments.save_assignment_rule(rule=rule)
    assignments.apply_rules()
    assigned = set(Enrollment.objects.values_list("user__username", flat=True))
    assert assigned == {"boss", "nurse", "tech"}


# --- homes ---------------------------------------------------------------------------------------

HOMES = [
    # viewer, status, what the page must say, what it must not
    ("nurse", 200, ["My courses"], ["What needs doing"]),
    ("boss", 200, ["What needs doing", "Skills waiting for your sign-off", "Overdue", "Failing a quiz",
                   "Certificates expiring in the next 30 days", "Your own training"], []),
    ("admin", 200, ["What needs doing"], ["Your own training"]),
    ("surveyor", 302, [], []),
]  # fmt: skip


@pytest.mark.parametrize("viewer, status, present, absent", HOMES)
def test_each_role_gets_its_own_home(client, people, tmp_path, viewer, status, present, absent):
    tiny = load_tiny(tmp_path)
    services.enroll(user=people["boss"], course=tiny.course)
    client.force_login(people[viewer])
    response = client.get("/")
    assert response.status_code == status
    if status == 302:
        assert response["Location"] == "/team/evidence/"
        return
    text = body(response)
    for phrase in present:
        assert phrase in text, phrase
    for phrase in absent:
        assert phrase not in text, phrase


@pytest.mark.parametrize("path", ["/", "/my-courses/"])
def test_a_surveyor_is_sent_to_evidence_packs_and_never_offered_enrolment(client, people, tmp_path, path):
    load_tiny(tmp_path)  # an open course a learner could enrol in
    client.force_login(people["surveyor"])
    response = client.get(path, follow=True)
    assert response.redirect_chain[-1][0] == "/team/evidence/"
    text = body(response)
    assert "Evidence packs" in text and "Enrol" not in text and "My courses" not in text


def test_a_learner_sees_open_courses_with_enrol_and_supervisors_reach_my_courses_too(
    client, people, tmp_path
):
    load_tiny(tmp_path)
    for name in ("nurse", "boss"):
        client.force_login(people[name])
        text = body(client.get("/my-courses/"))
        assert "My courses" in text and "Enrol" in text


# --- action items --------------------------------------------------------------------------------


def _team(tmp_path, ward, boss, n: int) -> dict:
    """n people of each kind under boss: overdue, failing, waiting for a sign-off, certificate
    expiring, and one who is fine."""
    tiny = load_tiny(tmp_path, course_extra={"skills": SKILLS})
    expiring_course = make_course(slug=f"expiring-{n}", validity_months=12)
    now = timezone.now()
    today = timezone.localdate()
    made = {"overdue": [], "failing": [], "signoff": [], "expiring": [], "fine": []}
    for i in range(n):

        def person(kind):
            user = UserFactory(username=f"{kind}-{n}-{i}", department=ward, supervisor=boss)
            made[kind].append(user)
            return user

        services.enroll(user=person("overdue"), course=tiny.course, due_date=today - timedelta(days=3))
        failing = person("failing")
        services.enroll(user=failing, course=tiny.course, due_date=today + timedelta(days=9))
        read_all_lessons(failing, tiny.version)
        take_quiz(failing, tiny.modules[0].quiz, tiny.specs, correct=False)
        waiting = person("signoff")
        services.enroll(user=waiting, course=tiny.course, due_date=today + timedelta(days=9))
        read_all_lessons(waiting, tiny.version)
        for module in tiny.modules:
            take_quiz(waiting, module.quiz, tiny.specs)
        take_quiz(waiting, tiny.version.final_exam, tiny.specs)
        expiring = person("expiring")
        old = completed_enrollment(expiring, expiring_course, completed_at=now - timedelta(days=350))
        certificates.issue_certificate(enrollment_id=old.pk)
        fine = person("fine")
        services.enroll(user=fine, course=tiny.course, due_date=today + timedelta(days=20))
    made["tiny"] = tiny
    return made


def test_action_items_list_exactly_who_needs_action(people, ward, tmp_path):
    made = _team(tmp_path, ward, people["boss"], 1)
    items = reports_selectors.team_action_items(people["boss"])
    names = lambda rows: {r.user.username for r in rows}  # noqa: E731
    assert names(items.overdue) == {u.username for u in made["overdue"]}
    assert names(items.failing) == {u.username for u in made["failing"]}
    # only the person waiting for nothing but the observation: the others have lessons or quizzes to do
    assert names(items.signoffs) == {u.username for u in made["signoff"]}
    assert names(items.expiring) == {u.username for u in made["expiring"]}
    assert 14 <= items.expiring[0].days_left <= 16
    assert items.failing[0].failed_quiz == made["tiny"].modules[0].quiz.title


def test_a_failed_quiz_passed_later_is_no_longer_failing(people, ward, tmp_path):
    made = _team(tmp_path, ward, people["boss"], 1)
    failing, tiny = made["failing"][0], made["tiny"]
    assert failing in [e.user for e in reports_selectors.team_action_items(people["boss"]).failing]
    take_quiz(failing, tiny.modules[0].quiz, tiny.specs)
    assert failing not in [e.user for e in reports_selectors.team_action_items(people["boss"]).failing]


@pytest.mark.parametrize("team_size", [1, 3])
def test_action_items_run_a_fixed_number_of_queries(
    django_assert_num_queries, people, ward, tmp_path, team_size
):
    _team(tmp_path, ward, people["boss"], team_size)
    boss = User.objects.get(pk=people["boss"].pk)
    with django_assert_num_queries(4):
        items = reports_selectors.team_action_items(boss)
    assert len(items.overdue) == len(items.failing) == len(items.expiring) == team_size


def test_the_supervisor_home_shows_the_action_items_with_links(client, people, ward, tmp_path):
    made = _team(tmp_path, ward, people["boss"], 1)
    client.force_login(people["boss"])
    text = body(client.get("/"))
    for kind in ("overdue", "failing", "signoff", "expiring"):
        user = made[kind][0]
        assert f"/team/people/{user.pk}/" in text, kind
    assert "3 days overdue" in text
    assert "only the sign-off is missing" in text
    assert "Remind people who are overdue" in text and "Sign off observed skills" in text
    assert f"/team/people/{made['fine'][0].pk}/" not in text
