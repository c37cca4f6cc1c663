"""Clinical content change (issue 11): a clinically significant change in a new, medically reviewed
course version assigns everyone certified on an older version a short update (only the changed lessons
and a quiz of the changed questions) with a due date; their certificate stays valid until then; the
update completes without a new certificate; minor wording changes assign nothing.

A tiny course is written to tmp_path, certified learners complete it through the services, then a file is
changed and the course reloaded with a new medical review and published."""

from datetime import date, timedelta

import pytest
from django.urls import reverse

from accounts.services import deactivate_user
from core.models import AuditEvent
from courses.catalog import clinical_updates as catalog_clinical_updates
from courses.catalog import services as catalog_services
from courses.certificates import services as certificates
from courses.enrollment import selectors, services
from courses.models import Certificate, CourseVersion, Enrollment, Lesson
from quizzes.errors import QuizLocked
from quizzes.models import Question
from tests.beyond_helpers import (
    certify,
    edit_question,
    load,
    new_review,
    rewrite_lesson,
    write_course,
)
from tests.course_helpers import complete_course, take_quiz
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SLUG = "upd"
# The clock fixture starts on 1 March 2030; the change is published ten days later, so the update is
# due 30 days after 11 March 2030 (local dates in the organisation's time zone).
PUBLISHED_ON = date(2030, 3, 11)
DUE = PUBLISHED_ON + timedelta(days=catalog_clinical_updates.CLINICAL_UPDATE_DUE_DAYS)
CERT_EXPIRES = date(2031, 3, 1)  # 12 months of validity from 1 March 2030


@pytest.fixture
def course(tmp_path, clock):
    # Two modules of two lessons, each with its quiz, no final exam (fast). No CE hours: a completion would
    # issue a certificate at once, so "no new certificate" can fail.
    return load(write_course(tmp_path, slug=SLUG, ce_hours=0, with_final=False))


@pytest.fixture
def certified(course):
    people = [
        UserFactory(first_name="Ada", last_name="Lovelace"),
        UserFactory(first_name="Bo", last_name="Ng"),
    ]
    return {person: certify(person, course) for person in people}


def reload(course, clock, *, publish: bool = True):
    """Ten days on: reload the changed files with a new medical review (a draft), then publish it."""
    clock.advance(days=10)
    new_review(course.path, date(2030, 3, 9))
    v2 = load(course.path, publish=False)
    assert v2.report.created_version and v2.version.status == CourseVersion.Status.DRAFT
    assert not Enrollment.objects.filter(kind=Enrollment.Kind.UPDATE).exists()  # only publishing assigns
    if publish:
        catalog_services.publish_version(version=v2.version)
        v2.version.refresh_from_db()
    return v2


def significant_lesson_change(course, clock):
    key = rewrite_lesson(
        course.path, "ma", 1, extra="New guidance: a second dose after 2-3 minutes.", significant=True
    )
    return key, reload(course, clock)


def updates():
    return list(Enrollment.objects.filter(kind=Enrollment.Kind.UPDATE).order_by("user_id"))


def read_update_lessons(user, update):
    for lesson in selectors.enrollment_lessons(update):
        services.complete_lesson(user=user, lesson_id=lesson.pk)


# --- assignment ---------------------------------------------------------------------------------------


def test_a_significant_lesson_change_assigns_one_short_update_per_certified_person(course, certified, clock):
    bystander = UserFactory()  # enrolled, not certified: keeps their version, gets no update
    services.enroll(user=bystander, course=course.course)
    key, v2 = significant_lesson_change(course, clock)

    assert v2.version.status == CourseVersion.Status.PUBLISHED
    assert v2.version.changes["clinically_significant"] == [key]
    found = updates()
    assert sorted(u.user_id for u in found) == sorted(p.pk for p in certified)
    for update in found:
        assert update.version == v2.version and update.course == course.course
        assert update.source == Enrollment.Source.CLINICAL_UPDATE
        assert update.status == Enrollment.Status.NOT_STARTED
        assert update.due_date == DUE
        assert update.update_lesson_keys == [key]
        lessons = list(selectors.enrollment_lessons(update))
        assert [(lesson.key, lesson.module.version_id) for lesson in lessons] == [(key, v2.version.pk)]
        assert (update.lessons_total, update.quizzes_total) == (1, 1)
        # The update quiz asks about what the changed lesson teaches.
        rules = [(r.objective, r.question_key, r.count) for r in update.update_quiz.draw_rules.all()]
        assert rules == [("MA-1", "", 1)]
    for certificate in certified.values():
        certificate.refresh_from_db()
        assert certificate.update_due == DUE
        assert certificate.effective_expiry == DUE
    assert AuditEvent.objects.filter(action="clinical_update.assigned", data__people=2).count() == 1

    # The update quiz is locked until the changed lesson is read, then draws only that objective.
    learner = next(iter(certified))
    update = Enrollment.objects.get(user=learner, kind=Enrollment.Kind.UPDATE)
    with pytest.raises(QuizLocked):
        services.start_quiz_attempt(user=learner, quiz=update.update_quiz)
    read_update_lessons(learner, update)
    attempt, _ = services.start_quiz_attempt(user=learner, quiz=update.update_quiz)
    objectives = set(
        Question.objects.filter(pk__in=attempt.layout["order"]).values_list("objective", flat=True)
    )
    assert objectives == {"MA-1"} and len(attempt.layout["order"]) == 1


@pytest.mark.parametrize(
    ("changed_key", "drawn_key", "changes"),
    [
        (f"{SLUG}-ma-single", f"{SLUG}-ma-single", {"stem": "Which dose is now recommended?"}),
        # A changed scenario part: the whole scenario is the question to answer again.
        (f"{SLUG}-ma-case-num", f"{SLUG}-ma-case", {"answer": {"value": 72, "tolerance": 0}}),
    ],
    ids=["question", "scenario-part"],
)
def test_a_significant_question_change_assigns_a_quiz_of_that_question(
    course, certified, clock, changed_key, drawn_key, changes
):
    edit_question(course.path, "ma", changed_key, clinically_significant=True, **changes)
    v2 = reload(course, clock)

    assert v2.version.changes["clinically_significant"] == [drawn_key]
    found = updates()
    assert len(found) == len(certified)
    update = found[0]
    assert update.update_lesson_keys == [] and list(selectors.enrollment_lessons(update)) == []
    rules = [(r.question_key, r.objective, r.count) for r in update.update_quiz.draw_rules.all()]
    assert rules == [(drawn_key, "", 1)]

    learner = update.user
    attempt = take_quiz(learner, update.update_quiz, v2.specs)
    drawn = Question.objects.get(pk=attempt.layout["order"][0])
    assert len(attempt.layout["order"]) == 1
    assert (drawn.key, drawn.is_current) == (drawn_key, True)
    assert attempt.passed is True
    # Nothing to read: passing the quiz completes the update and lifts the deadline.
    update.refresh_from_db()
    assert update.status == Enrollment.Status.COMPLETED
    assert Certificate.objects.get(user=learner).update_due is None


def test_the_certificate_stays_valid_until_the_due_date_then_expires_if_not_done(course, certified, clock):
    significant_lesson_change(course, clock)
    certificate = next(iter(certified.values()))
    certificate.refresh_from_db()
    assert certificate.expires_on == CERT_EXPIRES  # the update's date comes first
    assert certificate.status_on(DUE) == "valid"
    assert certificate.status_on(DUE + timedelta(days=1)) == "expired"
    code = certificate.verify_code
    assert certificates.verify(code=code, today=PUBLISHED_ON).status == "valid"
    assert certificates.verify(code=code, today=DUE).status == "valid"
    assert certificates.verify(code=code, today=DUE + timedelta(days=1)).status == "expired"
    # The public verification page on the day after the due date, by the real clock.
    clock.now = clock.now + (DUE - PUBLISHED_ON) + timedelta(days=1)
    assert certificates.verify(code=code).status == "expired"


def test_completing_the_update_clears_the_deadline_without_a_new_certificate(
    course, certified, clock, client, django_capture_on_commit_callbacks
):
    key, v2 = significant_lesson_change(course, clock)
    learner, other = list(certified)
    update = Enrollment.objects.get(user=learner, kind=Enrollment.Kind.UPDATE)
    clock.advance(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        read_update_lessons(learner, update)
        attempt = take_quiz(learner, update.update_quiz, v2.specs)
    assert attempt.passed is True

    update.refresh_from_db()
    assert update.status == Enrollment.Status.COMPLETED and update.progress_percent == 100
    mine = certified[learner]
    mine.refresh_from_db()
    assert mine.update_due is None
    assert Certificate.objects.filter(user=learner).count() == 1  # no new certificate for an update
    late = certificates.issue_certificate(enrollment_id=update.pk)  # e.g. a sweep or a stray task
    assert late.certificate is None and Certificate.objects.filter(user=learner).count() == 1
    assert certificates.verify(code=mine.verify_code, today=DUE + timedelta(days=1)).status == "valid"
    assert certificates.verify(code=mine.verify_code, today=CERT_EXPIRES + timedelta(days=1)).status == (
        "expired"
    )
    # The colleague who has not done it keeps the deadline.
    theirs = certified[other]
    theirs.refresh_from_db()
    assert theirs.update_due == DUE
    assert (
        AuditEvent.objects.filter(action="clinical_update.completed", subject_user_id=learner.pk).count() == 1
    )

    # The transcript shows both: the course with its certificate and the update with its quiz result.
    rows = {row["enrollment"].kind: row for row in selectors.transcript(user=learner)}
    assert set(rows) == {Enrollment.Kind.REGULAR, Enrollment.Kind.UPDATE}
    assert rows[Enrollment.Kind.REGULAR]["certificates"] == [mine]
    assert rows[Enrollment.Kind.REGULAR]["enrollment"].version == course.version
    assert rows[Enrollment.Kind.UPDATE]["certificates"] == []
    assert rows[Enrollment.Kind.UPDATE]["enrollment"].version == v2.version
    assert rows[Enrollment.Kind.UPDATE]["best_attempts"] == [attempt]
    client.force_login(learner)
    page = client.get(reverse("frontend:transcript")).content.decode()
    assert f"Clinical update: {course.course.title}" in page
    assert mine.number in page
    # The finished update leaves the home page.
    assert reverse("frontend:update", args=[update.pk]) not in client.get("/").content.decode()


@pytest.mark.parametrize("what", ["lesson", "question"])
def test_a_minor_wording_change_assigns_nothing(course, certified, clock, what):
    if what == "lesson":
        rewrite_lesson(course.path, "ma", 1, extra="Typo fixed.", significant=False)
    else:
        edit_question(course.path, "ma", f"{SLUG}-ma-single", stem="Stem of the question, reworded?")
    v2 = reload(course, clock)

    changed = v2.version.changes["lessons_changed"] + v2.version.changes["questions_changed"]
    assert changed and v2.version.changes["clinically_significant"] == []
    assert v2.version.status == CourseVersion.Status.PUBLISHED
    assert updates() == []
    assert not Certificate.objects.filter(update_due__isnull=False).exists()
    assert not AuditEvent.objects.filter(action="clinical_update.assigned").exists()


def test_publishing_and_loading_again_assigns_nothing_more(course, certified, clock):
    _, v2 = significant_lesson_change(course, clock)
    before = [(u.pk, u.due_date, u.enrolled_at) for u in updates()]
    assert len(before) == 2

    clock.advance(days=5)  # a later run would compute a later due date if it assigned again
    catalog_services.publish_version(version=v2.version)
    again = load(course.path)  # the same files: no new version
    assert not again.report.created_version and again.version == v2.version
    assert catalog_clinical_updates.assign_clinical_updates(version=v2.version) == 0

    assert [(u.pk, u.due_date, u.enrolled_at) for u in updates()] == before
    assert set(Certificate.objects.values_list("update_due", flat=True)) == {DUE}


def test_revoked_expired_and_deactivated_holders_get_no_update(course, clock):
    admin = UserFactory(is_superuser=True, is_staff=True)
    keep, revoked, expired, left = (UserFactory() for _ in range(4))
    certs = {person: certify(person, course) for person in (keep, revoked, expired, left)}
    certificates.revoke_certificate(certificate_id=certs[revoked].pk, by=admin, reason="Wrong person")
    Certificate.objects.filter(pk=certs[expired].pk).update(expires_on=date(2030, 3, 10))  # before publish
    deactivate_user(user=left, by=admin)

    significant_lesson_change(course, clock)

    assert [u.user_id for u in updates()] == [keep.pk]
    due = dict(Certificate.objects.values_list("user_id", "update_due"))
    assert due == {keep.pk: DUE, revoked.pk: None, expired.pk: None, left.pk: None}


def test_a_renewed_person_gets_one_update_and_both_valid_certificates_carry_its_deadline(course, clock):
    learner = UserFactory()
    first = certify(learner, course)
    clock.advance(days=1)
    services.enroll(user=learner, course=course.course, source=Enrollment.Source.RECERTIFICATION)
    complete_course(learner, course.version, course.specs)
    cycle_two = Enrollment.objects.get(user=learner, cycle=2, kind=Enrollment.Kind.REGULAR)
    second = certificates.issue_certificate(enrollment_id=cycle_two.pk).certificate
    assert second.renews == first

    significant_lesson_change(course, clock)

    (update,) = updates()
    assert update.user == learner and update.cycle == 2
    due = DUE + timedelta(days=1)  # published a day later than in the other tests
    assert set(Certificate.objects.filter(user=learner).values_list("update_due", flat=True)) == {due}


# --- what a learner on an update can open --------------------------------------------------------------


def test_a_learner_on_an_update_sees_it_and_opens_only_its_lessons(course, certified, clock, client):
    key, v2 = significant_lesson_change(course, clock)
    learner, other = list(certified)
    update = Enrollment.objects.get(user=learner, kind=Enrollment.Kind.UPDATE)
    theirs = Enrollment.objects.get(user=other, kind=Enrollment.Kind.UPDATE)
    v2_lessons = {lesson.key: lesson for lesson in Lesson.objects.filter(module__version=v2.version)}
    changed = v2_lessons.pop(key)
    client.force_login(learner)

    home = client.get("/").content.decode()
    assert f"Clinical update: {course.course.title}" in home
    assert reverse("frontend:update", args=[update.pk]) in home
    page = client.get(reverse("frontend:update", args=[update.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert changed.title in html and update.update_quiz.title in html
    for other_lesson in v2_lessons.values():
        assert reverse("frontend:lesson", args=[other_lesson.pk]) not in html
    assert client.get(reverse("frontend:update", args=[theirs.pk])).status_code == 404

    assert client.get(reverse("frontend:lesson", args=[changed.pk])).status_code == 200
    for other_lesson in v2_lessons.values():
        assert client.get(reverse("frontend:lesson", args=[other_lesson.pk])).status_code == 404
        assert client.post(reverse("frontend:lesson_read", args=[other_lesson.pk])).status_code == 404
        with pytest.raises(services.NotEnrolled):
            services.complete_lesson(user=learner, lesson_id=other_lesson.pk)
    update.refresh_from_db()
    assert update.lessons_read == 0  # opening the lesson is not reading it; nothing outside counted
    # Reading the changed lesson leads on to the update's quiz (the next step), not to the course.
    response = client.post(reverse("frontend:lesson_read", args=[changed.pk]))
    assert response.status_code == 302 and response["Location"] == reverse(
        "frontend:quiz", args=[update.update_quiz_id]
    )
