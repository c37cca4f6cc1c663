"""Generate a realistic demo organisation into the configured database, for the supervisor dashboard's
demo, screenshots and benchmarks (tests/bench/bench_dashboard.py).

    manage.py generate_demo_org [--staff 5000] [--departments 20] [--answers-per-person 200]
                                [--demo-review] [--password PW] [--seed 2030] [--copy]

What it makes (everything through bulk_create in batches, in one transaction; --copy sends the two big
tables, attempts and answers, through PostgreSQL's COPY instead, about twice as fast overall):

- `--departments` departments under one top supervisor (`demo-top`, a supervisor with no manager):
  top -> one department head per department (supervisor) -> team leads (supervisors, about one per 25
  people) -> staff (learners). `--staff` is the whole headcount under the top supervisor (heads and
  leads included); all of them are enrolled in the course. `demo-admin` (admin role) is made too.
  `demo-top`, the department heads and `demo-admin` can log in with `--password` (or DEMO_PASSWORD);
  without one, nobody can log in.
- The real course (courses/content/substance-use-safety) loaded with courses.catalog.services.load_course. It has
  no medical review, so the command needs either COURSE_ALLOW_UNREVIEWED=true (the draft is used) or
  `--demo-review`, which records a clearly fake "Demo reviewer" review and publishes it. Never use that
  flag on a real organisation's database.
- Learner histories with plausible patterns: staff hired more than a year ago finished last year's
  cycle (lessons, module quizzes with retakes, the final exam, skill sign-offs) and most of them are
  now in this year's recertification cycle; new hires are in their onboarding cycle. How far a person
  got depends on how long ago the cycle opened and on their own pace, so some never started and some
  are overdue. Every answer is graded by the real grading code (quizzes.grading) against a frozen
  layout made by quizzes.layout.assemble_layout (drawn questions, shuffled choices, opaque ids):
  harder objectives and difficulty-3 questions are answered wrong more often, retakes go better than
  first tries, one question per bank is misleading (strong learners miss it more: negative
  discrimination), wrong picks favour one popular distractor. A failed final exam with no attempts left
  gets an extra-attempt override from the supervisor (with its audit record) before the next try.
  People who answered fewer than their share retake module quizzes they already passed in their
  current cycle, as practice, so the mean lands near `--answers-per-person` (never below the answers
  their own path through the course produced). Overdue people got reminders;
  a few got a due-date extension or an exemption through courses.assignments.overrides.grant_override.
- Stored enrollment progress matches what `manage.py check_progress` recomputes from the raw records.

Refuses to run when the database already holds a demo organisation (the user `demo-top`).
"""

import math
import os
import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from quizzes.layout import assemble_layout, gradable_question_ids

TOP_USERNAME = "demo-top"
ADMIN_USERNAME = "demo-admin"
DEPARTMENT_PREFIX = "demo-org-"
DEMO_REVIEWER = "Demo reviewer (FAKE: demo data only, not a medical review)"
COURSE_DIR = Path(settings.BASE_DIR) / "courses" / "content" / "substance-use-safety"
TEAM_SIZE = 25
PEOPLE_PER_CHUNK = 200
INSERT_BATCH = 5000
ATTEMPT_COLUMNS = (
    "id",
    "user_id",
    "quiz_id",
    "number",
    "state",
    "layout",
    "started_at",
    "deadline",
    "time_multiplier",
    "submitted_at",
    "closed_by",
    "points",
    "max_points",
    "score",
    "passed",
    "critical_missed",
)
ANALYZE_TABLES = (
    "accounts_user",
    "accounts_department",
    "courses_enrollment",
    "courses_lessonprogress",
    "courses_notification",
    "courses_skillsignoff",
    "quizzes_attempt",
    "quizzes_answer",
    "quizzes_quizoverride",
)


def _words(text: str) -> list[str]:
    return text.split()


DEPARTMENT_NAMES = [
    "Medical detox unit",
    "Residential men's program",
    "Residential women's program",
    "Adolescent program",
    "Intensive outpatient",
    "Outpatient clinic",
    "Opioid treatment program",
    "Crisis stabilisation",
    "Sober living houses",
    "Recovery support services",
    "Family program",
    "Admissions and intake",
    "Nursing services",
    "Pharmacy",
    "Case management",
    "Peer recovery team",
    "Night and weekend cover",
    "Dietary and housekeeping",
    "Transport and security",
    "Administration",
]
FIRST_NAMES = _words(
    "Aaliyah Abdul Ada Adrian Aisha Alejandro Amara Andre Angela Anika Ben Beatriz Brandon Carmen Chen "
    "Chloe Cristina Daniel Deepa Derek Diana Dmitri Elena Emeka Erin Esther Fatima Femi Gabriel Grace "
    "Hannah Hector Ibrahim Imani Isabel Jamal James Jasmine Javier Jenna Joao Jonah Julia Kai Kalani "
    "Kenji Keisha Kwame Lakshmi Laura Leon Li Lucia Luis Maya Marcus Maria Mateo Mei Miguel Mohammed "
    "Nadia Naomi Nia Noah Olga Omar Priya Rafael Rashid Rosa Ruth Samuel Sara Sean Sofia Tariq Tomas "
    "Uma Valentina Wei Yara Yusuf Zainab Zoe"
)
LAST_NAMES = _words(
    "Abara Adeyemi Alvarez Anderson Bakker Banerjee Becker Brown Campbell Castillo Chen Cohen Costa "
    "Delgado Diaz Dubois Edwards Evans Fernandez Fischer Garcia Gomez Gonzalez Gupta Haddad Hall "
    "Hernandez Hoang Hughes Ibrahim Ivanova Jackson Jensen Johnson Kaur Kelly Khan Kim Kowalski Kumar "
    "Larsen Lee Lopez Martin Martinez Mensah Miller Moreau Murphy Nakamura Nguyen Novak O'Brien Okafor "
    "Olsen Ortiz Park Patel Perez Petrov Pham Quinn Ramirez Reyes Richards Rivera Robinson Rossi Santos "
    "Schmidt Silva Singh Smith Sokolov Tanaka Taylor Thomas Torres Tran Walker Wang Williams Wilson "
    "Wright Yamamoto Young Zhang"
)
STAFF_TITLES = [
    "Registered nurse",
    "Licensed practical nurse",
    "Counsellor",
    "Peer recovery specialist",
    "Behavioral health technician",
    "Case manager",
    "Medical assistant",
    "Care aide",
    "Night attendant",
    "Support staff",
]
EXEMPTION_REASON = "Equivalent training completed at a previous employer; certificate on file."
EXTENSION_REASON = "Medical leave during the training window."
EXTRA_ATTEMPT_REASON = "Final exam attempts used up; reviewed the missed objectives together first."
ACCOMMODATION_REASON = "Documented accommodation: extended time on timed assessments."


class DemoOrgExists(CommandError):
    pass


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


# --- the course as plain data --------------------------------------------------------------------


@dataclass
class QuizPlan:
    quiz: object
    rules: list  # [(pool of top-level questions, count)]
    lesson_ids: list[int] = field(default_factory=list)


@dataclass
class CourseModel:
    version: object
    modules: list[QuizPlan]
    final: QuizPlan | None
    questions: dict  # pk -> Question
    parts: dict  # parent pk -> [Question]
    choices: dict  # question pk -> [Choice] by position
    keys: dict  # question pk -> grading.AnswerKey
    hardness: dict  # question pk -> logit offset (objective, difficulty)
    misleading: set  # question pks strong learners miss more often
    skills: list
    lessons_total: int
    variants: dict = field(default_factory=dict)  # question pk -> response_variants(...)


def prepare_course(*, path: Path, demo_review: bool, stdout=None):
    """Load the course (idempotent) and make sure new enrollments can use it."""
    from courses.catalog import selectors, services

    report = services.load_course(path=path)
    version = report.version
    if version.status != version.Status.PUBLISHED:
        if demo_review:
            if not version.is_reviewed:
                version = services.record_medical_review(
                    version=version, reviewer=DEMO_REVIEWER, review_date=timezone.localdate()
                )
            version = services.publish_version(version=version)
            if stdout is not None:
                stdout.write(f"Recorded a FAKE medical review ({DEMO_REVIEWER!r}) and published {version}.")
        elif not settings.COURSE_ALLOW_UNREVIEWED:
            raise CommandError(
                f"{version} has no medical review, so nobody can be enrolled in it. For demo data, pass "
                "--demo-review (records a clearly fake 'Demo reviewer' review and publishes the version) "
                "or set COURSE_ALLOW_UNREVIEWED=true (uses the unreviewed draft)."
            )
    current = selectors.current_version(report.course)
    if current is None or current.pk != version.pk:
        raise CommandError(f"{report.course} has a newer or other current version than {version}.")
    return version


def course_model(version, rng: random.Random) -> CourseModel:
    from courses.models import Lesson, RequiredSkill
    from quizzes.models import Choice, Question
    from quizzes.services import _answer_key

    modules = list(version.modules.select_related("quiz").order_by("position"))
    quizzes = [m.quiz for m in modules] + ([version.final_exam] if version.final_exam_id else [])
    rules = {q.pk: list(q.draw_rules.all()) for q in quizzes}
    bank_ids = {r.bank_id for rs in rules.values() for r in rs if r.bank_id}
    objectives = {r.objective for rs in rules.values() for r in rs if r.objective}
    top = list(
        Question.objects.filter(is_current=True, parent__isnull=True)
        .filter(bank_id__in=bank_ids)
        .order_by("key")
    )
    if objectives:
        top += list(
            Question.objects.filter(is_current=True, parent__isnull=True, objective__in=objectives)
            .exclude(pk__in=[q.pk for q in top])
            .order_by("key")
        )
    questions = {q.pk: q for q in top}
    parts: dict[int, list] = {}
    for part in Question.objects.filter(parent_id__in=list(questions)).order_by("position"):
        parts.setdefault(part.parent_id, []).append(part)
        questions[part.pk] = part
    choices: dict[int, list] = {}
    for choice in Choice.objects.filter(question_id__in=list(questions)).order_by("question_id", "position"):
        choices.setdefault(choice.question_id, []).append(choice)
    keys = {pk: _answer_key(q, choices.get(pk, [])) for pk, q in questions.items() if q.type != "scenario"}
    # Harder objectives are answered wrong more often: a fixed, seeded hardness per objective.
    objective_names = sorted({q.objective for q in questions.values()})
    objective_hardness = {name: rng.uniform(-0.7, 1.3) for name in objective_names}
    hardness = {
        pk: objective_hardness[q.objective] + 0.45 * (q.difficulty - 2) for pk, q in questions.items()
    }
    misleading = set()
    by_bank: dict[int, list] = {}
    for q in top:
        if q.type in ("single", "true_false"):
            by_bank.setdefault(q.bank_id, []).append(q.pk)
    for pks in by_bank.values():
        misleading.add(rng.choice(pks))

    def pools(quiz):
        out = []
        for rule in rules[quiz.pk]:
            pool = [
                q
                for q in top
                if (q.bank_id == rule.bank_id if rule.bank_id else q.objective == rule.objective)
            ]
            out.append((pool, rule.count))
        return out

    lessons: dict[int, list[int]] = {}
    for lesson in Lesson.objects.filter(module__version=version).order_by("module__position", "position"):
        lessons.setdefault(lesson.module_id, []).append(lesson.pk)
    plans = [QuizPlan(m.quiz, pools(m.quiz), lessons.get(m.pk, [])) for m in modules]
    final = QuizPlan(version.final_exam, pools(version.final_exam)) if version.final_exam_id else None
    model = CourseModel(
        version=version,
        modules=plans,
        final=final,
        questions=questions,
        parts=parts,
        choices=choices,
        keys=keys,
        hardness=hardness,
        misleading=misleading,
        skills=list(RequiredSkill.objects.filter(version=version).order_by("position")),
        lessons_total=sum(len(v) for v in lessons.values()),
    )
    model.variants = {pk: response_variants(model, q, rng) for pk, q in questions.items() if pk in keys}
    return model


# --- attempts ------------------------------------------------------------------------------------


def build_layout(course: CourseModel, quiz, rng: random.Random) -> tuple[dict, list[int]]:
    """A frozen layout made by the engine's own quizzes.layout.assemble_layout, from questions drawn
    here out of the in-memory pools (with a fast seeded token source instead of the secrets module).
    Returns (layout, gradable question ids in order)."""
    plan = course.final if course.final and quiz.pk == course.final.quiz.pk else None
    if plan is None:
        plan = next(p for p in course.modules if p.quiz.pk == quiz.pk)
    chosen = []
    taken = set()
    for pool, count in plan.rules:
        available = [q for q in pool if q.pk not in taken]
        picked = rng.sample(available, min(count, len(available)))
        chosen += picked
        taken.update(q.pk for q in picked)
    if quiz.shuffle_questions:
        rng.shuffle(chosen)
    used: set[str] = set()
    pool = rng.randbytes(5 * 96).hex()
    cursor = [0]

    def token() -> str:
        nonlocal pool
        while True:
            at = cursor[0]
            if at + 10 > len(pool):
                pool, at = rng.randbytes(5 * 96).hex(), 0
            cursor[0] = at + 10
            value = pool[at : at + 10]
            if value not in used:
                used.add(value)
                return value

    layout = assemble_layout(
        chosen, course.parts, course.choices, rng, shuffle_choices=quiz.shuffle_choices, token=token
    )
    return layout, gradable_question_ids(layout)


@dataclass(frozen=True)
class Variant:
    """One stored response to a question, graded once by the real grader."""

    response: dict
    response_json: str
    points: Decimal
    reason: str
    item: object  # quizzes.grading.ItemResult


def response_variants(
    course: CourseModel, question, rng: random.Random
) -> tuple[Variant, list, list, Variant]:
    """(right, wrong variants, their weights, unanswered): canonical responses (choice primary keys as
    text). Wrong answers favour one popular distractor, the misconception most people hold."""
    import json

    from quizzes import grading

    key = course.keys[question.pk]
    choices = course.choices.get(question.pk, [])
    qtype = question.type
    wrong: list[dict] = []
    weights: list[int] = []
    if qtype in ("single", "true_false"):
        right = {"choice_ids": sorted(key.correct)}
        others = [str(c.pk) for c in choices if str(c.pk) not in key.correct]
        popular = rng.randrange(len(others))
        for i, pk in enumerate(others):
            wrong.append({"choice_ids": [pk]})
            weights.append(5 if i == popular else 1)
    elif qtype == "multiple":
        correct = sorted(key.correct)
        right = {"choice_ids": correct}
        others = [str(c.pk) for c in choices if str(c.pk) not in key.correct]
        for missing in correct:
            kept = [pk for pk in correct if pk != missing]
            if kept:
                wrong.append({"choice_ids": kept})
                weights.append(2)
        for extra in others:
            wrong.append({"choice_ids": [*correct, extra]})
            weights.append(1)
    elif qtype == "ordering":
        order = list(key.order)
        right = {"order": order}
        for i in range(len(order) - 1):
            swapped = list(order)
            swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
            wrong.append({"order": swapped})
            weights.append(1)
    elif qtype == "matching":
        pairs = dict(key.pairs)
        right = {"pairs": pairs}
        lefts = list(pairs)
        for i in range(len(lefts) - 1):
            swapped = dict(pairs)
            a, b = lefts[i], lefts[i + 1]
            swapped[a], swapped[b] = swapped[b], swapped[a]
            wrong.append({"pairs": swapped})
            weights.append(2)
        for i in range(len(question.data.get("extra_right", []))):
            decoy = dict(pairs)
            decoy[lefts[0]] = f"x{i}"
            wrong.append({"pairs": decoy})
            weights.append(1)
    elif qtype == "numeric":
        if key.value is not None:
            good, bad = key.value, key.value * 2 + key.tolerance + 1
        else:
            good, bad = (key.minimum + key.maximum) / 2, key.maximum * 2 + 1
        right = {"value": _number_text(good)}
        wrong = [{"value": _number_text(bad)}, {"value": _number_text(-bad)}]
        weights = [3, 1]
    else:
        raise ValueError(qtype)

    def variant(response: dict) -> Variant:
        result = grading.grade(key, response)
        return Variant(
            response=response,
            response_json=json.dumps(response),
            points=(Decimal(result.points.numerator) / Decimal(result.points.denominator)).quantize(
                Decimal("0.0001")
            ),
            reason=result.reason,
            item=grading.ItemResult(str(question.pk), result, question.critical, question.objective),
        )

    right_variant = variant(right)
    wrong_variants = [variant(w) for w in wrong] or [variant({})]
    if right_variant.points != 1 or any(v.points == 1 for v in wrong_variants):
        raise CommandError(f"demo answers for {question.key} do not grade as intended")
    return right_variant, wrong_variants, weights or [1], variant({})


def _number_text(value: Decimal) -> str:
    return str(value.normalize()) if value == value.to_integral() else str(value)


def grade_attempt(course: CourseModel, quiz, gradable: list[int], skill: float, rng: random.Random):
    """[(Variant)] per gradable item and the engine's summary (quizzes.grading.summarise)."""
    from quizzes import grading

    chosen, items = [], []
    for qid in gradable:
        right, wrong, weights, blank = course.variants[qid]
        if qid in course.misleading:
            p = _sigmoid(0.9 - 1.4 * (skill - 1.0))  # the strong read too much into it
        else:
            p = _sigmoid(skill + 1.0 - course.hardness[qid])
        roll = rng.random()
        if roll < 0.005:
            v = blank  # left unanswered: graded as such at submit
        elif rng.random() < p:
            v = right
        else:
            v = rng.choices(wrong, weights=weights)[0]
        chosen.append(v)
        items.append(v.item)
    return chosen, grading.summarise(items, pass_mark_percent=quiz.pass_mark)


# --- people --------------------------------------------------------------------------------------


@dataclass
class Person:
    user: object
    new_hire: bool
    ability: float
    pace: float  # 0: never starts; 1: finishes right at the due date
    budget: int


@dataclass
class ChunkRows:
    enrollments: list = field(default_factory=list)
    lesson_progress: list = field(default_factory=list)
    attempts: list = field(default_factory=list)  # (Attempt, [Answer])
    signoffs: list = field(default_factory=list)
    quiz_overrides: list = field(default_factory=list)
    notifications: list = field(default_factory=list)


class Journey:
    """One person's path through the course: enrollments, lessons, attempts, sign-offs."""

    def __init__(self, course: CourseModel, person: Person, rows: ChunkRows, rng: random.Random, now):
        self.course, self.person, self.rows, self.rng, self.now = course, person, rows, rng, now
        self.numbers: dict[int, int] = {}  # quiz pk -> last attempt number
        self.final_allowance = 0  # extra attempts granted on the final exam
        self.answers = 0
        self.multiplier = Decimal("1.5") if rng.random() < 0.01 else Decimal(1)

    def attempt(self, quiz, at: datetime, *, skill: float):
        from quizzes.models import Attempt

        layout, gradable = build_layout(self.course, quiz, self.rng)
        chosen, summary = grade_attempt(self.course, quiz, gradable, skill, self.rng)
        minutes = self.rng.uniform(0.35, 0.9) * (quiz.time_limit_minutes or 30)
        submitted = at + timedelta(minutes=minutes)
        step = timedelta(minutes=minutes / (len(chosen) + 1))
        answers = [
            (qid, v, at + step * (i + 1)) for i, (qid, v) in enumerate(zip(gradable, chosen, strict=True))
        ]
        self.numbers[quiz.pk] = self.numbers.get(quiz.pk, 0) + 1
        attempt = Attempt(
            user=self.person.user,
            quiz=quiz,
            number=self.numbers[quiz.pk],
            state="submitted",
            layout=layout,
            started_at=at,
            deadline=(
                at + timedelta(seconds=int(quiz.time_limit_minutes * 60 * self.multiplier))
                if quiz.time_limit_minutes
                else None
            ),
            time_multiplier=self.multiplier,
            submitted_at=submitted,
            closed_by="learner",
            points=(Decimal(summary.points.numerator) / Decimal(summary.points.denominator)).quantize(
                Decimal("0.0001")
            ),
            max_points=summary.max_points,
            score=summary.score_percent,
            passed=summary.passed,
            critical_missed=[
                {"question": int(i.question_id), "objective": i.objective} for i in summary.critical_missed
            ],
        )
        self.rows.attempts.append((attempt, answers))
        self.answers += len(answers)
        return attempt

    def cycle(self, *, number: int, enrolled_at: datetime, due: date, source: str, end: datetime | None):
        """Run one cycle. `end` given: the person finished by then (a past cycle). Otherwise their pace
        and the time since the cycle opened decide how far they got by now; nothing happens after
        `now` (a retake that would fall in the future has not happened yet)."""
        from courses.enrollment.progress import Progress
        from courses.models import Enrollment, LessonProgress, SkillSignoff
        from quizzes.models import QuizOverride

        course, rng = self.course, self.rng
        steps_total = 2 * len(course.modules) + (1 if course.final else 0) + (1 if course.skills else 0)
        horizon = self.now - timedelta(minutes=90)  # the latest moment anything may have happened
        if end is not None:
            steps_target, span = steps_total, max(timedelta(hours=6), end - enrolled_at)
        else:
            due_at = datetime.combine(due, datetime.min.time(), tzinfo=enrolled_at.tzinfo)
            window = max(timedelta(days=1), due_at - enrolled_at)
            if self.person.pace:
                span = window / self.person.pace  # time this person needs for the whole course
                fraction = (self.now - enrolled_at) / span
            else:
                span, fraction = window, 0.0
            steps_target = min(steps_total, int(fraction * steps_total + rng.uniform(0, 0.5)))
        enrollment = Enrollment(
            user=self.person.user,
            course=course.version.course,
            version=course.version,
            cycle=number,
            source=source,
            due_date=due,
            enrolled_at=enrolled_at,
            lessons_total=course.lessons_total,
            quizzes_total=len(course.modules) + (1 if course.final else 0),
            signoffs_total=len(course.skills),
        )
        self.rows.enrollments.append(enrollment)
        self.first_enrolled_at = min(enrolled_at, getattr(self, "first_enrolled_at", enrolled_at))

        def when(step: int) -> datetime:
            return enrolled_at + span * ((step + rng.uniform(0.2, 0.8)) / steps_total)

        lessons_read = quizzes_passed = signoffs = 0
        activity: list[datetime] = []
        passed_here: list = []
        step, stopped = 0, False
        skill_base = self.person.ability + (0.35 if number > 1 else 0)  # a second cycle goes better
        for plan in course.modules:
            if step >= steps_target:
                stopped = True
                break
            # read the module's lessons (when it is the last step reached, perhaps only some)
            read = plan.lesson_ids
            at = when(step)
            partial = end is None and (step + 1 >= steps_target or at > horizon) and rng.random() < 0.6
            if partial:
                read = read[: rng.randrange(len(read) + 1)]
            for i, lesson_id in enumerate(read):
                done_at = at + timedelta(minutes=rng.randint(12, 30) * i)
                if done_at > horizon:
                    break
                self.rows.lesson_progress.append(
                    LessonProgress(
                        enrollment=enrollment,
                        lesson_id=lesson_id,
                        first_opened_at=done_at - timedelta(minutes=rng.randint(4, 15)),
                        completed_at=done_at,
                        seconds_spent=rng.randint(150, 900),
                    )
                )
                activity.append(done_at)
                lessons_read += 1
            step += 1
            if partial or lessons_read < sum(len(p.lesson_ids) for p in course.modules[: step // 2 + 1]):
                stopped = True
                break
            if step >= steps_target:
                stopped = True
                break
            # pass the module quiz, with retakes; some give up for now
            at = when(step)
            for tries in range(1, 13):
                if at > horizon:
                    stopped = True
                    break
                attempt = self.attempt(plan.quiz, at, skill=skill_base + 0.4 * (tries - 1))
                activity.append(attempt.submitted_at)
                if attempt.passed:
                    quizzes_passed += 1
                    passed_here.append(plan.quiz)
                    break
                if end is None and tries >= 2 and rng.random() < 0.3:
                    stopped = True
                    break
                at = attempt.submitted_at + timedelta(hours=rng.uniform(2, 40))
            else:
                stopped = True
            step += 1
            if stopped:
                break
        final_passed = course.final is None
        if course.final and not stopped and step < steps_target:
            quiz = course.final.quiz
            at = when(step)
            for tries in range(1, 9):
                if at > horizon:
                    break
                used = self.numbers.get(quiz.pk, 0)
                if quiz.attempt_limit is not None and used >= quiz.attempt_limit + self.final_allowance:
                    if end is None and rng.random() < 0.3:
                        break  # waiting for the supervisor to grant an extra attempt
                    self.rows.quiz_overrides.append(
                        QuizOverride(
                            user=self.person.user,
                            quiz=quiz,
                            kind=QuizOverride.Kind.EXTRA_ATTEMPT,
                            reason=EXTRA_ATTEMPT_REASON,
                            granted_by_id=self.person.user.supervisor_id,
                            granted_at=at - timedelta(minutes=rng.randint(10, 600)),
                        )
                    )
                    self.final_allowance += 1
                attempt = self.attempt(quiz, at, skill=skill_base + 0.3 + 0.4 * (tries - 1))
                activity.append(attempt.submitted_at)
                if attempt.passed:
                    final_passed = True
                    quizzes_passed += 1
                    break
                gap = max(quiz.cooldown_minutes / 60 + 1, rng.uniform(3, 60))
                at = attempt.submitted_at + timedelta(hours=gap)
            step += 1
        if course.skills and final_passed and not stopped and step < steps_target:
            at = max([when(step), *activity]) + timedelta(hours=rng.uniform(2, 72))
            if at <= horizon:
                for skill in course.skills:
                    self.rows.signoffs.append(
                        SkillSignoff(
                            enrollment=enrollment,
                            skill=skill,
                            observer_id=self.person.user.supervisor_id,
                            observed_on=timezone.localdate(at),
                            notes="Observed on the training manikin.",
                            signed_at=at,
                        )
                    )
                signoffs = len(course.skills)
                activity.append(at)
        progress = Progress(
            lessons_total=enrollment.lessons_total,
            lessons_read=lessons_read,
            quizzes_total=enrollment.quizzes_total,
            quizzes_passed=quizzes_passed,
            signoffs_required=enrollment.signoffs_total,
            signoffs_done=signoffs,
        )
        enrollment.lessons_read = lessons_read
        enrollment.quizzes_passed = quizzes_passed
        enrollment.signoffs_done = signoffs
        enrollment.progress_percent = progress.percent
        if activity:
            enrollment.started_at = min(activity)
            enrollment.last_activity_at = max(activity)
            enrollment.status = Enrollment.Status.IN_PROGRESS
        if progress.complete:
            enrollment.status = Enrollment.Status.COMPLETED
            enrollment.completed_at = max(activity)
        enrollment._passed_quizzes = passed_here  # for practice retakes
        return enrollment

    def practise(self, enrollment) -> None:
        """Retake module quizzes passed in this cycle until near the person's share of answers."""
        quizzes = getattr(enrollment, "_passed_quizzes", [])
        start = enrollment.last_activity_at
        if not quizzes or start is None:
            return
        while self.answers < self.person.budget:
            room = (self.now - start).total_seconds()
            if room < 3 * 3600:
                return
            at = start + timedelta(seconds=self.rng.uniform(0.05, 0.3) * room)
            attempt = self.attempt(self.rng.choice(quizzes), at, skill=self.person.ability + 0.8)
            start = attempt.submitted_at
            enrollment.last_activity_at = start


def people_for(users: list, *, answers_per_person: int, now: datetime, rng: random.Random) -> list[Person]:
    people = []
    for user in users:
        new_hire = user.hire_date > timezone.localdate(now) - timedelta(days=400)
        pace = 0.0 if rng.random() < 0.04 else max(0.15, rng.lognormvariate(0.4, 0.4))
        people.append(
            Person(
                user=user,
                new_hire=new_hire,
                ability=rng.gauss(1.45, 0.7),
                pace=pace,
                budget=int(answers_per_person * rng.uniform(0.65, 1.0)),
            )
        )
    return people


def simulate(course: CourseModel, person: Person, rows: ChunkRows, rng: random.Random, now: datetime):
    from courses.models import Enrollment, Notification

    journey = Journey(course, person, rows, rng, now)
    tz = timezone.get_current_timezone()
    if person.new_hire:
        hired = datetime.combine(person.user.hire_date, datetime.min.time(), tzinfo=tz) + timedelta(hours=9)
        latest = journey.cycle(
            number=1,
            enrolled_at=hired,
            due=person.user.hire_date + timedelta(days=45),
            source=Enrollment.Source.RULE,
            end=None,
        )
    else:
        tenure = (timezone.localdate(now) - person.user.hire_date).days
        completed = now - timedelta(days=rng.uniform(200, max(201, min(520, tenure - 60))))
        enrolled = completed - timedelta(days=rng.uniform(15, 55))
        latest = journey.cycle(
            number=1,
            enrolled_at=enrolled,
            due=timezone.localdate(enrolled) + timedelta(days=60),
            source=Enrollment.Source.RULE,
            end=completed,
        )
        renew = latest.completed_at + timedelta(days=365 - 45) if latest.completed_at else now
        if renew < now:
            latest = journey.cycle(
                number=2,
                enrolled_at=renew,
                due=timezone.localdate(latest.completed_at) + timedelta(days=365),
                source=Enrollment.Source.RECERTIFICATION,
                end=None,
            )
    journey.practise(latest)
    if journey.multiplier != 1:
        from quizzes.models import QuizOverride

        rows.quiz_overrides.append(
            QuizOverride(
                user=person.user,
                quiz=None,
                kind=QuizOverride.Kind.TIME_MULTIPLIER,
                value=journey.multiplier,
                reason=ACCOMMODATION_REASON,
                granted_by_id=person.user.supervisor_id,
                granted_at=journey.first_enrolled_at - timedelta(days=1),
            )
        )
    # Reminders already sent for an open enrollment, at the usual offsets from the due date.
    if latest.status != Enrollment.Status.COMPLETED and latest.due_date and person.user.email:
        for offset in (-7, -1, 0, 7):
            day = latest.due_date + timedelta(days=offset)
            sent = datetime.combine(day, datetime.min.time(), tzinfo=tz) + timedelta(hours=6)
            if latest.enrolled_at < sent < now:
                rows.notifications.append(
                    Notification(
                        enrollment=latest,
                        kind=f"reminder{offset:+d}",
                        recipient=person.user,
                        status=Notification.Status.SENT,
                        attempts=1,
                        created_at=sent - timedelta(minutes=5),
                        sent_at=sent,
                    )
                )
    return journey.answers


# --- organisation --------------------------------------------------------------------------------


def make_org(*, staff: int, departments: int, password_hash: str, now: datetime, rng: random.Random):
    from accounts.models import Department, Role, User

    names = DEPARTMENT_NAMES + [f"Department {i}" for i in range(len(DEPARTMENT_NAMES), departments)]
    depts = Department.objects.bulk_create(
        Department(name=f"{names[i]}", code=f"{DEPARTMENT_PREFIX}{i + 1:02d}") for i in range(departments)
    )
    today = timezone.localdate(now)
    serial = iter(range(1, 10_000_000))

    def person(username, role, dept, supervisor, title, *, login=False, hired=None):
        n = next(serial)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        if hired is None:
            # about a fifth hired within the last 13 months (onboarding), the rest 1-15 years ago
            hired = (
                today - timedelta(days=rng.randint(5, 390))
                if rng.random() < 0.2
                else today - timedelta(days=rng.randint(420, 5400))
            )
        return User(
            username=username,
            first_name=first,
            last_name=last,
            email="" if rng.random() < 0.03 and not login else f"{username}@demo.example.org",
            role=role,
            department=dept,
            supervisor=supervisor,
            job_title=title,
            hire_date=hired,
            employee_id=f"DEMO{n:06d}",
            password=password_hash if login else "!demo-no-login",
            date_joined=datetime.combine(hired, datetime.min.time(), tzinfo=now.tzinfo),
        )

    veteran = today - timedelta(days=3000)
    (top,) = User.objects.bulk_create(
        [person(TOP_USERNAME, Role.SUPERVISOR, None, None, "Clinical director", login=True, hired=veteran)]
    )
    User.objects.bulk_create(
        [person(ADMIN_USERNAME, Role.ADMIN, None, None, "Training administrator", login=True, hired=veteran)]
    )
    share = [staff // departments + (1 if i < staff % departments else 0) for i in range(departments)]
    heads = User.objects.bulk_create(
        person(
            f"demo-head-{i + 1:02d}", Role.SUPERVISOR, d, top, "Program manager", login=True, hired=veteran
        )
        for i, d in enumerate(depts)
    )
    leads, lead_of = [], []
    for i, (dept, head, count) in enumerate(zip(depts, heads, share, strict=True)):
        n_leads = max(1, round((count - 1) / TEAM_SIZE))
        for j in range(n_leads):
            leads.append(
                person(f"demo-lead-{i + 1:02d}-{j + 1:02d}", Role.SUPERVISOR, dept, head, "Team lead")
            )
        lead_of.append((dept, n_leads, count - 1 - n_leads))
    leads = User.objects.bulk_create(leads)
    rows, k, s = [], 0, 0
    for dept, n_leads, n_staff in lead_of:
        mine = leads[k : k + n_leads]
        k += n_leads
        for j in range(n_staff):
            s += 1
            rows.append(
                person(f"demo-staff-{s:05d}", Role.LEARNER, dept, mine[j % n_leads], rng.choice(STAFF_TITLES))
            )
    learners = User.objects.bulk_create(rows, batch_size=INSERT_BATCH)
    return top, depts, list(heads) + leads + learners


def _reserve_ids(table: str, n: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, n]
        )
        return [row[0] for row in cursor.fetchall()]


def _copy(table: str, columns: tuple[str, ...], rows) -> None:
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN"  # constant table and column names
        ) as copy,
    ):
        for row in rows:
            copy.write_row(row)


def insert_chunk(rows: ChunkRows, *, copy: bool = False) -> int:
    """Inserts in dependency order with bulk_create in batches. With `copy` (--copy), the two big
    tables (attempts, answers) go in with PostgreSQL's COPY instead, their ids reserved from the
    sequence first: Django 5.2's bulk_create sends rows as UNNEST arrays that psycopg quotes element by
    element in Python, which dominates for a million rows and the JSON layouts."""
    import json

    from courses.models import Enrollment, LessonProgress, Notification, SkillSignoff
    from quizzes.models import Answer, Attempt, QuizOverride

    Enrollment.objects.bulk_create(rows.enrollments, batch_size=INSERT_BATCH)
    LessonProgress.objects.bulk_create(rows.lesson_progress, batch_size=INSERT_BATCH)
    SkillSignoff.objects.bulk_create(rows.signoffs, batch_size=INSERT_BATCH)
    Notification.objects.bulk_create(rows.notifications, batch_size=INSERT_BATCH)
    QuizOverride.objects.bulk_create(rows.quiz_overrides, batch_size=INSERT_BATCH)
    count = sum(len(answers) for _, answers in rows.attempts)
    if copy:
        attempts = [a for a, _ in rows.attempts]
        for attempt, pk in zip(attempts, _reserve_ids(Attempt._meta.db_table, len(attempts)), strict=True):
            attempt.pk = pk
        _copy(
            Attempt._meta.db_table,
            (*ATTEMPT_COLUMNS, "flagged"),  # flagged: NOT NULL without a database default
            (
                (
                    *(getattr(a, f"{c}") for c in ATTEMPT_COLUMNS[:5]),
                    json.dumps(a.layout),
                    *(getattr(a, c) for c in ATTEMPT_COLUMNS[6:-1]),
                    json.dumps(a.critical_missed),
                    json.dumps(a.flagged or []),
                )
                for a in attempts
            ),
        )
        _copy(
            Answer._meta.db_table,
            ("attempt_id", "question_id", "response", "saved_at", "points", "reason"),
            (
                (attempt.pk, qid, v.response_json, saved_at, v.points, v.reason)
                for attempt, answers in rows.attempts
                for qid, v, saved_at in answers
            ),
        )
        return count
    Attempt.objects.bulk_create([a for a, _ in rows.attempts], batch_size=2000)
    batch: list = []
    for attempt, answers in rows.attempts:
        batch += [
            Answer(
                attempt_id=attempt.pk,
                question_id=qid,
                response=v.response,
                saved_at=saved_at,
                points=v.points,
                reason=v.reason,
            )
            for qid, v, saved_at in answers
        ]
        if len(batch) >= INSERT_BATCH:
            Answer.objects.bulk_create(batch)
            batch = []
    Answer.objects.bulk_create(batch)
    return count


def audit_overrides(now: datetime) -> int:
    """The generated quiz overrides get the audit record a granted override has."""
    from core import audit
    from quizzes.models import QuizOverride

    n = 0
    for override in (
        QuizOverride.objects.filter(user__username__startswith="demo-")
        .select_related("granted_by")
        .order_by("granted_at", "pk")
    ):
        audit.record(
            action=f"override.{override.kind}",
            target=override,
            actor=override.granted_by,
            subject_user_id=override.user_id,
            now=override.granted_at,
            data={
                "quiz": override.quiz_id,
                "value": str(override.value),
                "reason": override.reason,
                "generated": "demo data",
            },
        )
        n += 1
    return n


def course_overrides(*, admin, now: datetime, rng: random.Random) -> dict[str, int]:
    """A few due-date extensions and exemptions through the real service (with audit records)."""
    from courses.assignments import overrides
    from courses.models import Enrollment

    open_ = list(
        Enrollment.objects.filter(
            user__username__startswith="demo-staff-",
            status__in=[Enrollment.Status.NOT_STARTED, Enrollment.Status.IN_PROGRESS],
        )
        .order_by("pk")
        .values_list("pk", "user_id", "due_date")
    )
    done = {"exemption": 0, "due_date_extension": 0}
    today = timezone.localdate(now)
    for pk, user_id, due in rng.sample(open_, min(len(open_), max(1, len(open_) // 150))):
        kind = "exemption" if rng.random() < 0.5 else "due_date_extension"
        overrides.grant_override(
            granted_by=admin,
            person_id=user_id,
            kind=kind,
            reason=EXEMPTION_REASON if kind == "exemption" else EXTENSION_REASON,
            enrollment_id=pk,
            new_due_date=max(due or today, today) + timedelta(days=21),
            now=now - timedelta(hours=rng.uniform(1, 24 * 20)),
        )
        done[kind] += 1
    return done


def generate(
    *,
    staff: int = 5000,
    departments: int = 20,
    answers_per_person: int = 200,
    demo_review: bool = False,
    course_path: Path = COURSE_DIR,
    password: str | None = None,
    seed: int = 2030,
    copy: bool = False,
    now: datetime | None = None,
    stdout=None,
) -> dict:
    """Generate the organisation (see the module docstring). Returns counts and timings."""
    from accounts.models import User
    from courses.enrollment.selectors import overdue_filter
    from courses.models import Enrollment

    if staff < 3 * departments:
        raise CommandError("--staff must be at least 3 per department (a head, a lead and one person).")
    if User.objects.filter(username=TOP_USERNAME).exists():
        raise DemoOrgExists(
            f"This database already holds a demo organisation (user {TOP_USERNAME!r}); generate_demo_org "
            "runs once per database. Use a fresh database (or drop this one) to generate again."
        )
    now = now or timezone.now()
    rng = random.Random(seed)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    def lap(name: str, since: float) -> float:
        timings[name] = round(time.perf_counter() - since, 2)
        if stdout is not None:
            stdout.write(f"  {name}: {timings[name]:.1f}s")
        return time.perf_counter()

    with transaction.atomic():
        t = time.perf_counter()
        version = prepare_course(path=Path(course_path), demo_review=demo_review, stdout=stdout)
        course = course_model(version, rng)
        t = lap("course", t)
        password_hash = make_password(password) if password else "!demo-no-login"
        top, depts, users = make_org(
            staff=staff, departments=departments, password_hash=password_hash, now=now, rng=rng
        )
        admin = User.objects.get(username=ADMIN_USERNAME)
        t = lap("people", t)
        people = people_for(users, answers_per_person=answers_per_person, now=now, rng=rng)
        answers = attempts = 0
        simulate_s = insert_s = 0.0
        for start in range(0, len(people), PEOPLE_PER_CHUNK):
            s0 = time.perf_counter()
            rows = ChunkRows()
            for person in people[start : start + PEOPLE_PER_CHUNK]:
                simulate(course, person, rows, random.Random(rng.getrandbits(64)), now)
            s1 = time.perf_counter()
            answers += insert_chunk(rows, copy=copy)
            attempts += len(rows.attempts)
            simulate_s += s1 - s0
            insert_s += time.perf_counter() - s1
            if stdout is not None and (start // PEOPLE_PER_CHUNK) % 5 == 4:
                stdout.write(f"  {start + PEOPLE_PER_CHUNK} people, {answers:,} answers so far")
        timings["simulate_and_grade"] = round(simulate_s, 2)
        timings["bulk_insert"] = round(insert_s, 2)
        t = time.perf_counter()
        audited = audit_overrides(now)
        granted = course_overrides(admin=admin, now=now, rng=rng)
        t = lap("overrides_and_audit", t)
    with connection.cursor() as cursor:
        for table in ANALYZE_TABLES:
            cursor.execute(f"ANALYZE {table}")
    lap("analyze", t)
    timings["total"] = round(time.perf_counter() - t0, 2)
    statuses = dict(
        Enrollment.objects.filter(user__username__startswith="demo-")
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    today = timezone.localdate(now)
    latest_overdue = Enrollment.objects.filter(
        overdue_filter(today), user__username__startswith="demo-"
    ).count()
    return {
        "top_supervisor": top.username,
        "top_supervisor_id": top.pk,
        "admin": ADMIN_USERNAME,
        "course_version_id": version.pk,
        "departments": len(depts),
        "staff": len(users),
        "enrollments": Enrollment.objects.filter(user__username__startswith="demo-").count(),
        "enrollment_statuses": statuses,
        "overdue": latest_overdue,
        "attempts": attempts,
        "answers": answers,
        "quiz_overrides_audited": audited,
        "course_overrides": granted,
        "timings_seconds": timings,
    }


class Command(BaseCommand):
    help = "Generate a demo organisation (default 5,000 staff, about 1,000,000 answers) for the dashboard."

    def add_arguments(self, parser):
        parser.add_argument("--staff", type=int, default=5000, help="headcount under the top supervisor")
        parser.add_argument("--departments", type=int, default=20)
        parser.add_argument(
            "--answers-per-person",
            type=int,
            default=200,
            help="target mean of stored answers per person (practice retakes fill up to it)",
        )
        parser.add_argument(
            "--demo-review",
            action="store_true",
            help="record a clearly FAKE 'Demo reviewer' medical review and publish the course (demo only)",
        )
        parser.add_argument("--password", default=None, help="password of demo-top, heads and demo-admin")
        parser.add_argument("--seed", type=int, default=2030)
        parser.add_argument(
            "--copy",
            action="store_true",
            help="insert attempts and answers with PostgreSQL COPY instead of bulk_create (faster)",
        )
        parser.add_argument("--course-path", type=Path, default=COURSE_DIR)

    def handle(self, *args, **options):
        if not 1 <= options["departments"] <= 200:
            raise CommandError("--departments must be 1-200.")
        if not 1 <= options["staff"] <= 200_000:
            raise CommandError("--staff must be 1-200,000.")
        if not 0 <= options["answers_per_person"] <= 5000:
            raise CommandError("--answers-per-person must be 0-5,000.")
        self.stdout.write(
            f"Generating {options['staff']:,} staff in {options['departments']} departments "
            f"(target {options['answers_per_person']} answers per person)..."
        )
        report = generate(
            staff=options["staff"],
            departments=options["departments"],
            answers_per_person=options["answers_per_person"],
            demo_review=options["demo_review"],
            course_path=options["course_path"],
            password=options["password"] or os.environ.get("DEMO_PASSWORD") or None,
            seed=options["seed"],
            copy=options["copy"],
            stdout=self.stdout,
        )
        t = report["timings_seconds"]
        self.stdout.write(
            self.style.SUCCESS(
                f"Done in {t['total']:.1f}s: {report['staff']:,} staff, {report['enrollments']:,} enrollments "
                f"({report['overdue']:,} overdue), {report['attempts']:,} attempts, {report['answers']:,} answers."
            )
        )
        self.stdout.write(f"Statuses: {report['enrollment_statuses']}; timings: {t}")
        self.stdout.write(
            f"Log in as {TOP_USERNAME} (top supervisor), demo-head-01..{report['departments']:02d} or "
            f"{ADMIN_USERNAME}"
            + (
                ""
                if options["password"] or os.environ.get("DEMO_PASSWORD")
                else " after setting a password (none given: nobody can log in)"
            )
            + "."
        )
