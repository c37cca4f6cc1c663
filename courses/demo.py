"""The demo team of the embedded run (`manage.py seed_demo`): 24 fictitious staff in three departments
under the demo supervisor, with histories that make every report show something on first run: people
who finished last year (certificates expiring within 30 days) or last month, people waiting only for a
skill sign-off, people failing a quiz, overdue people who were reminded, one exemption, one due-date
extension, and a failed final exam.

Everything is built through the services the product itself uses (enrol, read lessons, start, save and
submit attempts, sign off skills, evaluate, remind, grant overrides), at past moments passed as `now`,
so the stored progress, grading, audit trail and certificates are the real ones. The answers are chosen
(right or wrong, per question) by a seeded random generator, so the item statistics vary the way a
real team's do. Idempotent: nothing is done when the team already exists.

It is demo data for the embedded run only: never run it against an organisation's database.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from accounts.models import Department, Role, SurveyorScope, User
from courses.assignments import overrides, reminders
from courses.catalog import selectors
from courses.certificates import services as certificates
from courses.certificates.selectors import awaits_evaluation
from courses.enrollment import services
from courses.models import Certificate, Course, Enrollment, RequiredSkill
from quizzes.layout import gradable_question_ids
from quizzes.models import Attempt, Choice, Question

DEPARTMENTS = (
    ("residential", "Residential unit"),
    ("outpatient", "Outpatient clinic"),
    ("detox", "Detox unit"),
)
MARKER_USERNAME = "demo.rivera"  # the first demo team member: present means the team exists

# username, first name, last name, department, job title, reports to, story (see STORIES)
TEAM = (
    ("demo.rivera", "Ana", "Rivera", "outpatient", "Team lead, outpatient", "supervisor", "done"),
    ("demo.okafor", "Chidi", "Okafor", "detox", "Team lead, detox", "supervisor", "expiring"),
    ("demo.nguyen", "Linh", "Nguyen", "residential", "Registered nurse", "supervisor", "expiring"),
    (
        "demo.schmidt",
        "Jonas",
        "Schmidt",
        "residential",
        "Behavioral health technician",
        "supervisor",
        "signoff",
    ),
    ("demo.haddad", "Rania", "Haddad", "residential", "Licensed practical nurse", "supervisor", "failing"),
    (
        "demo.brooks",
        "Tyler",
        "Brooks",
        "residential",
        "Behavioral health technician",
        "supervisor",
        "overdue",
    ),
    ("demo.santos", "Maria", "Santos", "residential", "Counselor", "supervisor", "progress"),
    ("demo.kowalski", "Piotr", "Kowalski", "residential", "Night technician", "supervisor", "overdue_new"),
    ("demo.ito", "Haruki", "Ito", "residential", "Registered nurse", "supervisor", "done"),
    ("demo.mensah", "Kofi", "Mensah", "outpatient", "Counselor", "demo.rivera", "signoff"),
    ("demo.lopez", "Sofia", "Lopez", "outpatient", "Case manager", "demo.rivera", "final_failed"),
    ("demo.petrov", "Ivan", "Petrov", "outpatient", "Peer recovery specialist", "demo.rivera", "overdue"),
    ("demo.walsh", "Siobhan", "Walsh", "outpatient", "Counselor", "demo.rivera", "not_started"),
    ("demo.ali", "Omar", "Ali", "outpatient", "Medical assistant", "demo.rivera", "expiring"),
    ("demo.fischer", "Lena", "Fischer", "outpatient", "Intake coordinator", "demo.rivera", "exempt"),
    ("demo.baker", "Grace", "Baker", "outpatient", "Counselor", "demo.rivera", "progress"),
    ("demo.kim", "Min-jun", "Kim", "detox", "Registered nurse", "demo.okafor", "failing"),
    ("demo.dubois", "Claire", "Dubois", "detox", "Licensed practical nurse", "demo.okafor", "done"),
    ("demo.yilmaz", "Emre", "Yilmaz", "detox", "Behavioral health technician", "demo.okafor", "extension"),
    ("demo.obi", "Ngozi", "Obi", "detox", "Night nurse", "demo.okafor", "overdue"),
    ("demo.larsen", "Erik", "Larsen", "detox", "Behavioral health technician", "demo.okafor", "signoff"),
    ("demo.costa", "Beatriz", "Costa", "detox", "Medical assistant", "demo.okafor", "progress"),
    ("demo.murphy", "Sean", "Murphy", "detox", "Registered nurse", "demo.okafor", "done_recent"),
    ("demo.tanaka", "Yui", "Tanaka", "detox", "Behavioral health technician", "demo.okafor", "not_started"),
)


@dataclass(frozen=True)
class Story:
    enrolled_days_ago: int
    due_in_days: int  # relative to today (negative: overdue)
    modules_done: int  # modules whose lessons are read and quiz passed (4 = all)
    final: str = ""  # "", "pass" or "fail"
    signoffs: bool = False  # the supervisor observed both skills
    fail_next_quiz: bool = False  # read the next module and failed its quiz (twice)
    lessons_into_next: int = 0  # lessons read in the next module
    remind: bool = False
    override: str = ""  # "exemption" or "due_date_extension"


STORIES = {
    # finished 345 days ago: the 12-month certificate expires in about 20 days
    "expiring": Story(enrolled_days_ago=360, due_in_days=-330, modules_done=4, final="pass", signoffs=True),
    "done": Story(enrolled_days_ago=75, due_in_days=-15, modules_done=4, final="pass", signoffs=True),
    "done_recent": Story(enrolled_days_ago=12, due_in_days=18, modules_done=4, final="pass", signoffs=True),
    # every lesson and quiz done, the final passed: only the supervisor's observation is missing
    "signoff": Story(enrolled_days_ago=40, due_in_days=12, modules_done=4, final="pass"),
    "failing": Story(enrolled_days_ago=20, due_in_days=10, modules_done=1, fail_next_quiz=True),
    "final_failed": Story(enrolled_days_ago=30, due_in_days=5, modules_done=4, final="fail"),
    "overdue": Story(enrolled_days_ago=50, due_in_days=-9, modules_done=1, lessons_into_next=2, remind=True),
    "overdue_new": Story(enrolled_days_ago=45, due_in_days=-14, modules_done=0, remind=True),
    "progress": Story(enrolled_days_ago=14, due_in_days=16, modules_done=2, lessons_into_next=1),
    "not_started": Story(enrolled_days_ago=3, due_in_days=27, modules_done=0),
    "exempt": Story(enrolled_days_ago=25, due_in_days=5, modules_done=0, override="exemption"),
    "extension": Story(
        enrolled_days_ago=40,
        due_in_days=-2,
        modules_done=1,
        lessons_into_next=1,
        override="due_date_extension",
    ),
}
SKILL = {"done": 0.9, "expiring": 0.88, "done_recent": 0.95, "signoff": 0.9, "final_failed": 0.7}


@dataclass
class DemoTeamReport:
    created: bool
    people: int = 0
    attempts: int = 0
    certificates: int = 0


def seed_demo_team(*, course: Course, password_hash: str, seed: int = 2026) -> DemoTeamReport:
    """Build the demo team once (see the module docstring). The demo's emails (reminders, certificate
    notices to example.org addresses) go to an in-memory outbox, not to the console."""
    if User.objects.filter(username=MARKER_USERNAME).exists():
        return DemoTeamReport(created=False)
    rng = random.Random(seed)
    # One transaction: all or nothing, and one commit instead of thousands (SQLite syncs each commit to
    # disk). The work queued on commit (certificates, reminder emails) runs when it ends.
    with (
        override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"),
        transaction.atomic(),
    ):
        report = _build(course=course, password_hash=password_hash, rng=rng)
    report.certificates = Certificate.objects.filter(user__username__startswith="demo.").count()
    return report


def _build(*, course: Course, password_hash: str, rng: random.Random) -> DemoTeamReport:
    now = timezone.now()
    today = timezone.localdate(now)
    departments = {}
    for code, name in DEPARTMENTS:
        departments[code], _ = Department.objects.get_or_create(code=code, defaults={"name": name})
    supervisor = User.objects.get(username="supervisor")
    people = {"supervisor": supervisor}
    for username, first, last, dept, title, boss, story in TEAM:
        people[username] = User.objects.create(
            username=username,
            first_name=first,
            last_name=last,
            email=f"{username}@example.org",
            password=password_hash,
            role=Role.SUPERVISOR if title.startswith("Team lead") else Role.LEARNER,
            department=departments[dept],
            supervisor=people[boss],
            job_title=title,
            hire_date=today - timedelta(days=STORIES[story].enrolled_days_ago + 30),
        )
    scope = SurveyorScope.objects.filter(user__username="surveyor").first()
    if scope is not None:  # the demo surveyor may look at all three departments
        scope.departments.set(departments.values())
    version = selectors.current_version(course)
    plan = _CoursePlan(version)
    report = DemoTeamReport(created=True, people=len(TEAM))
    for username, *_, story_name in TEAM:
        person = people[username]
        story = STORIES[story_name]
        observer = people[next(t[5] for t in TEAM if t[0] == username)]
        report.attempts += _live(
            person, story, course=course, plan=plan, observer=observer, rng=rng, now=now,
            skill=SKILL.get(story_name, 0.8),
        )  # fmt: skip
    return report


class _CoursePlan:
    """The version's modules in order with their lessons and quizzes, the final exam and the skills."""

    def __init__(self, version):
        self.version = version
        self.modules = [
            (module.quiz, list(module.lessons.order_by("position")))
            for module in version.modules.select_related("quiz").order_by("position")
        ]
        self.final = version.final_exam
        self.skills = list(RequiredSkill.objects.filter(version=version).order_by("pk"))


def _live(person, story: Story, *, course, plan, observer, rng, now: datetime, skill: float) -> int:
    """One person's history, step by step at past moments; returns the number of attempts made."""
    clock = _Clock(now - timedelta(days=story.enrolled_days_ago))
    today = timezone.localdate(now)
    enrollment, _ = services.enroll(
        user=person,
        course=course,
        source=Enrollment.Source.RULE,
        due_date=today + timedelta(days=story.due_in_days),
        now=clock.now,
    )
    attempts = 0
    for quiz, lessons in plan.modules[: story.modules_done]:
        _read(person, lessons, clock)
        attempts += _pass(person, quiz, clock, rng, skill=skill)
        clock.days(rng.randint(1, 3))
    if story.modules_done < len(plan.modules):
        quiz, lessons = plan.modules[story.modules_done]
        if story.fail_next_quiz:
            _read(person, lessons, clock)
            for _ in range(2):
                attempts += 1
                _attempt(person, quiz, clock, rng, skill=0.45)
                clock.days(1)
        elif story.lessons_into_next:
            _read(person, lessons[: story.lessons_into_next], clock)
    if story.final and plan.final is not None:
        clock.days(1)
        if story.final == "pass":
            attempts += _pass(person, plan.final, clock, rng, skill=skill)
        else:
            attempts += 1
            _attempt(person, plan.final, clock, rng, skill=0.5)
    if story.signoffs:
        clock.days(2)
        for skill_ in plan.skills:
            services.sign_off_skill(
                observer=observer,
                enrollment_id=enrollment.pk,
                skill_id=skill_.pk,
                observed_on=timezone.localdate(clock.now),
                notes="Observed on the training manikin during the skills session.",
                now=clock.now,
            )
    enrollment.refresh_from_db()
    if enrollment.status == Enrollment.Status.COMPLETED and awaits_evaluation(enrollment):
        clock.minutes(10)
        certificates.submit_evaluation(
            user=person,
            enrollment_id=enrollment.pk,
            ratings={
                "relevance": rng.randint(4, 5),
                "clarity": rng.randint(3, 5),
                "confidence": rng.randint(4, 5),
            },
            now=clock.now,
        )  # the certificate is issued once committed (a task, run in process in the embedded run)
    if story.remind:
        reminders.request_reminder(requested_by=observer, enrollment_id=enrollment.pk, now=now)
    if story.override == "exemption":
        overrides.grant_override(
            granted_by=observer,
            person_id=person.pk,
            kind="exemption",
            enrollment_id=enrollment.pk,
            reason="Completed the equivalent state course in March; certificate on file.",
            now=now - timedelta(days=3),
        )
    elif story.override == "due_date_extension":
        overrides.grant_override(
            granted_by=observer,
            person_id=person.pk,
            kind="due_date_extension",
            enrollment_id=enrollment.pk,
            new_due_date=today + timedelta(days=14),
            reason="Back from two weeks of leave.",
            now=now - timedelta(days=1),
        )
    return attempts


class _Clock:
    """A person's own time line, moving forward only."""

    def __init__(self, start: datetime):
        self.now = start

    def minutes(self, n: float) -> datetime:
        self.now += timedelta(minutes=n)
        return self.now

    def days(self, n: int) -> datetime:
        self.now += timedelta(days=n)
        return self.now


def _read(person, lessons, clock: _Clock) -> None:
    """Open each lesson, spend its estimated time on it (the course's minimum lesson time is measured
    by the server from the first opening), then mark it read."""
    for lesson in lessons:
        services.open_lesson(user=person, lesson_id=lesson.pk, now=clock.now)
        clock.minutes(max(1, lesson.minutes or 5))
        services.complete_lesson(user=person, lesson_id=lesson.pk, now=clock.now)
        clock.minutes(1)


def _pass(person, quiz, clock: _Clock, rng, *, skill: float) -> int:
    """Attempts until passed (a retake after the cool-down) within the quiz's attempt limit (four when
    unlimited); the last allowed attempt is answered right, so a story that passes always does (a
    certifying final with many critical items is otherwise failed more often than it has attempts)."""
    limit = quiz.attempt_limit or 4
    for number in range(1, limit + 1):
        last = number == limit
        attempt = _attempt(
            person, quiz, clock, rng, skill=1.0 if last else min(0.97, skill + 0.08 * (number - 1))
        )
        if attempt.passed:
            return number
        clock.minutes((quiz.cooldown_minutes or 0) + 30)
    return limit


def _attempt(person, quiz, clock: _Clock, rng, *, skill: float) -> Attempt:
    attempt, _ = services.start_quiz_attempt(user=person, quiz=quiz, now=clock.now)
    items = attempt.layout["items"]
    gradable = gradable_question_ids(attempt.layout)
    questions = {q.pk: q for q in Question.objects.filter(pk__in=gradable)}
    choices: dict[int, list[Choice]] = {}
    for choice in Choice.objects.filter(question_id__in=gradable).order_by("question_id", "position"):
        choices.setdefault(choice.question_id, []).append(choice)
    for qid in gradable:
        question = questions[qid]
        # Critical questions are answered right more often: people have been drilled on them.
        right = skill >= 1 or rng.random() < (min(0.98, skill + 0.1) if question.critical else skill)
        clock.minutes(rng.uniform(0.3, 1.2))
        services.save_quiz_answer(
            attempt_id=attempt.pk,
            user=person,
            question_id=qid,
            response=_response(items[str(qid)], question, choices.get(qid, []), right=right),
            now=clock.now,
        )
    clock.minutes(1)
    services.submit_quiz_attempt(attempt_id=attempt.pk, user=person, now=clock.now)
    attempt.refresh_from_db()
    return attempt


def _response(item: dict, question, choices: list[Choice], *, right: bool) -> dict:
    """A learner's response in the attempt's own opaque ids, right or wrong."""
    qtype = item["type"]
    if qtype in ("single", "multiple", "true_false", "ordering"):
        token = {pk: t for t, pk in item["choices"]}
        if qtype == "ordering":
            order = [token[c.pk] for c in sorted(choices, key=lambda c: c.position)]
            return {"order": order if right else list(reversed(order))}
        correct = [token[c.pk] for c in choices if c.correct]
        wrong = [token[c.pk] for c in choices if not c.correct]
        if right or not wrong:
            return {"choice_ids": correct if right else correct[:-1]}
        if qtype == "multiple":
            return {"choice_ids": correct[:-1] + wrong[:1]}
        return {"choice_ids": [wrong[0]]}
    if qtype == "matching":
        left = {pk: t for t, pk in item["left"]}
        right_ = {pk: t for t, pk in item["right"]}
        pks = [c.pk for c in choices]
        targets = pks if right else pks[1:] + pks[:1]
        return {"pairs": {left[a]: right_[b] for a, b in zip(pks, targets, strict=True)}}
    data = question.data
    value = (
        Decimal(str(data["value"]))
        if "value" in data
        else (Decimal(str(data["min"])) + Decimal(str(data["max"]))) / 2
    )
    if not right:
        value = value * 2 + Decimal(str(data.get("tolerance", 0))) + 1 + Decimal(str(data.get("max", 0)))
    return {"value": str(value)}
