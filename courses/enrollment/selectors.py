"""Reads of the courses app, each with a fixed number of queries (asserted in tests)."""

from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, Sum
from django.utils import timezone

from courses.catalog.selectors import quiz_belongs_to_a_course, version_quiz_ids
from courses.certificates.selectors import awaits_evaluation, enrollments_awaiting_evaluation
from courses.enrollment.progress import Progress
from courses.models import Certificate, Course, CourseVersion, Enrollment, Lesson, LessonProgress, Module
from courses.next_step import NextStep, next_step, step_after_reading
from quizzes.eligibility import Eligibility, QuizStartState, overrides_for, quiz_eligibility
from quizzes.models import Attempt, AttemptState, Quiz
from quizzes.services import applicable_overrides

# What course_outlines reads from each enrollment without a query of its own.
# The learner's supervisor is named in the next step when only skill sign-offs remain.
OUTLINE_RELATED = ("course", "version", "version__final_exam", "update_quiz", "user__supervisor")


# --- the deadline rule, written once: every "overdue" (pages, API, reports, exports, evidence packs,
# the demo organisation) comes from here; tests/unit/test_one_overdue_rule.py fails on a second copy.
OPEN_STATUSES = (Enrollment.Status.NOT_STARTED, Enrollment.Status.IN_PROGRESS)


def local_today() -> date:
    """Due dates are local dates in the organisation's time zone."""
    return timezone.localdate()


def is_overdue(enrollment: Enrollment, today: date | None = None, *, completed: bool | None = None) -> bool:
    """Past its due date and still open (not completed, not exempt). `completed` replaces the current
    status's answer for a look back: an evidence pack asks "completed by the end of the period"."""
    today = today or local_today()
    done = enrollment.status == Enrollment.Status.COMPLETED if completed is None else completed
    return (
        enrollment.due_date is not None
        and enrollment.due_date < today
        and not done
        and enrollment.status != Enrollment.Status.EXEMPT
    )


def overdue_filter(today: date | None = None, *, due: str = "due_date", status: str = "status") -> Q:
    """The same rule as a query condition, over the given fields (an enrollment's own, or annotations)."""
    return Q(**{f"{due}__lt": today or local_today(), f"{status}__in": OPEN_STATUSES})


def days_overdue(enrollment: Enrollment, today: date | None = None) -> int:
    """Whole days past the due date (0 when not overdue)."""
    if not is_overdue(enrollment, today):
        return 0
    return ((today or local_today()) - enrollment.due_date).days


def enrollment_for_quiz(*, user, quiz: Quiz) -> Enrollment | None:
    """The learner's newest enrollment whose course version includes this quiz."""
    return (
        Enrollment.objects.filter(user=user)
        .filter(
            Q(kind=Enrollment.Kind.REGULAR) & (Q(version__modules__quiz=quiz) | Q(version__final_exam=quiz))
            | Q(kind=Enrollment.Kind.UPDATE, update_quiz=quiz)
        )
        .exclude(status=Enrollment.Status.EXEMPT)
        .select_related(*OUTLINE_RELATED)
        .order_by("-cycle")
        .first()
    )


def enrollment_lessons(enrollment: Enrollment):
    """The lessons an enrollment covers: the whole version, or only the changed ones of an update."""
    lessons = Lesson.objects.filter(module__version_id=enrollment.version_id)
    if enrollment.kind == Enrollment.Kind.UPDATE:
        lessons = lessons.filter(key__in=enrollment.update_lesson_keys)
    return lessons


def enrollment_quiz_ids(enrollment: Enrollment) -> list[int]:
    if enrollment.kind == Enrollment.Kind.UPDATE:
        return [enrollment.update_quiz_id] if enrollment.update_quiz_id else []
    return version_quiz_ids(enrollment.version)


def lesson_reading_for_quiz(*, enrollment: Enrollment, quiz: Quiz) -> tuple[int, int, str | None]:
    """The lessons a quiz's lock covers (its module's; the whole enrollment's for the final exam or an
    update quiz): (read, total, title of the first unread in course order). 1 query."""
    lessons = enrollment_lessons(enrollment)
    if enrollment.kind == Enrollment.Kind.REGULAR and quiz.kind != Quiz.Kind.FINAL:
        lessons = lessons.filter(module__quiz=quiz)
    read = LessonProgress.objects.filter(
        enrollment=enrollment, lesson=OuterRef("pk"), completed_at__isnull=False
    )
    rows = list(
        lessons.annotate(is_read=Exists(read))
        .order_by("module__position", "position")
        .values_list("title", "is_read")
    )
    unread = [title for title, is_read in rows if not is_read]
    return len(rows) - len(unread), len(rows), (unread[0] if unread else None)


def compute_progress(enrollment: Enrollment) -> Progress:
    """Progress recomputed from raw records (lesson progress, attempts, sign-offs). 6 queries."""
    version = enrollment.version
    lessons = enrollment_lessons(enrollment)
    lessons_total = lessons.count()
    lessons_read = LessonProgress.objects.filter(
        enrollment=enrollment, completed_at__isnull=False, lesson__in=lessons
    ).count()
    quiz_ids = enrollment_quiz_ids(enrollment)
    passed = (
        Attempt.objects.filter(
            user_id=enrollment.user_id,
            quiz_id__in=quiz_ids,
            state=AttemptState.SUBMITTED,
            passed=True,
            started_at__gte=enrollment.enrolled_at,
        )
        .values("quiz_id")
        .distinct()
        .count()
    )
    from courses.models import RequiredSkill, SkillSignoff

    return Progress(
        lessons_total=lessons_total,
        lessons_read=lessons_read,
        quizzes_total=len(quiz_ids),
        quizzes_passed=passed,
        signoffs_required=0
        if enrollment.kind == Enrollment.Kind.UPDATE
        else RequiredSkill.objects.filter(version=version).count(),
        signoffs_done=SkillSignoff.objects.filter(enrollment=enrollment, skill__version=version).count(),
    )


def stored_progress(enrollment: Enrollment) -> Progress:
    """The progress every page, API, report and certificate shows: what the services stored."""
    return Progress(
        lessons_total=enrollment.lessons_total,
        lessons_read=enrollment.lessons_read,
        quizzes_total=enrollment.quizzes_total,
        quizzes_passed=enrollment.quizzes_passed,
        signoffs_required=enrollment.signoffs_total,
        signoffs_done=enrollment.signoffs_done,
    )


# --- learner pages --------------------------------------------------------------------------------


@dataclass
class CatalogEntry:
    course: Course
    enrollment: Enrollment | None
    version: CourseVersion | None
    overdue: bool = False
    next_quiz: "QuizState | None" = None  # unfinished enrollments: the quiz the next step is about
    next_step: NextStep | None = None  # enrolled: the one next step (courses.next_step)


def learner_catalog(*, user) -> list[CatalogEntry]:
    """Assigned courses (newest cycle each) with the next quiz step of unfinished ones, and open courses
    not yet taken. 3 queries, plus course_outlines' when any enrollment is unfinished."""
    today = local_today()
    enrollments = list(
        Enrollment.objects.filter(user=user).select_related(*OUTLINE_RELATED).order_by("course_id", "-cycle")
    )
    newest: dict[int, Enrollment] = {}
    updates = []
    for enrollment in enrollments:
        if enrollment.kind == Enrollment.Kind.UPDATE:
            if enrollment.status not in (Enrollment.Status.COMPLETED, Enrollment.Status.EXEMPT):
                updates.append(enrollment)
            continue
        newest.setdefault(enrollment.course_id, enrollment)
    entries = [
        CatalogEntry(course=e.course, enrollment=e, version=e.version, overdue=is_overdue(e, today))
        for e in [*updates, *newest.values()]
    ]
    version_filter = Q(status=CourseVersion.Status.PUBLISHED)
    if settings.COURSE_ALLOW_UNREVIEWED:
        version_filter |= Q(status=CourseVersion.Status.DRAFT)
    open_courses = (
        Course.objects.filter(open_enrollment=True)
        .exclude(pk__in=newest.keys())
        .prefetch_related(
            Prefetch(
                "versions",
                queryset=CourseVersion.objects.filter(version_filter).order_by("-status", "-number"),
                to_attr="candidate_versions",
            )
        )
    )
    for course in open_courses:
        versions = course.candidate_versions
        published = [v for v in versions if v.status == CourseVersion.Status.PUBLISHED]
        version = published[0] if published else (versions[0] if versions else None)
        if version is not None:
            entries.append(CatalogEntry(course=course, enrollment=None, version=version))

    unfinished = [
        entry
        for entry in entries
        if entry.enrollment is not None
        and entry.enrollment.status not in (Enrollment.Status.COMPLETED, Enrollment.Status.EXEMPT)
    ]
    outlines = dict(
        zip(
            [e.enrollment.pk for e in unfinished],
            course_outlines(enrollments=[e.enrollment for e in unfinished]),
            strict=True,
        )
    )
    for entry in unfinished:
        entry.next_quiz = outlines[entry.enrollment.pk].next_quiz
    # One query, only when a course is complete: which certificates wait for the course evaluation.
    completed = [e for e in entries if e.enrollment and e.enrollment.status == Enrollment.Status.COMPLETED]
    pending = {e.pk for e in enrollments_awaiting_evaluation(user=user)} if completed else set()
    for entry in entries:
        if entry.enrollment is not None:
            entry.next_step = learner_next_step(
                enrollment=entry.enrollment,
                outline=outlines.get(entry.enrollment.pk),
                evaluation_pending=entry.enrollment.pk in pending,
            )

    def order(entry: CatalogEntry):
        e = entry.enrollment
        done = e is not None and e.status in (Enrollment.Status.COMPLETED, Enrollment.Status.EXEMPT)
        return (e is None, done, e.due_date if e and e.due_date else date.max, entry.course.title)

    return sorted(entries, key=order)


@dataclass
class QuizState:
    """A quiz as one learner sees it: the one start rule's verdict (quizzes.eligibility), nothing more."""

    quiz: Quiz
    eligibility: Eligibility
    next_lesson: Lesson | None = None  # locked by unread lessons: the first of them (the lock names it)

    state = property(lambda self: str(self.eligibility.state))
    label = property(lambda self: self.eligibility.label)
    reason = property(lambda self: self.eligibility.reason)
    can_start = property(lambda self: self.eligibility.can_start)
    next_start_at = property(lambda self: self.eligibility.next_start_at)
    standing = property(lambda self: self.eligibility.standing)
    attempts_left = property(lambda self: self.eligibility.attempts_left)
    attempts_allowed = property(lambda self: self.eligibility.attempts_allowed)
    open_attempt_id = property(lambda self: self.eligibility.open_attempt_id)
    time_multiplier = property(lambda self: self.eligibility.time_multiplier)


@dataclass
class ModuleOutline:
    module: Module
    lessons: list[tuple[Lesson, bool]]
    quiz: QuizState

    @property
    def lessons_read(self) -> int:
        return sum(1 for _, read in self.lessons if read)


@dataclass
class CourseOutline:
    enrollment: Enrollment
    version: CourseVersion
    modules: list[ModuleOutline]
    final_exam: QuizState | None
    progress: Progress
    overdue: bool
    all_lessons: list[Lesson] = field(default_factory=list)
    skills: list = field(default_factory=list)  # [(RequiredSkill, SkillSignoff | None)]

    @property
    def quiz_states(self) -> list[QuizState]:
        return [m.quiz for m in self.modules if m.quiz] + ([self.final_exam] if self.final_exam else [])

    def quiz_state(self, quiz_id: int) -> QuizState | None:
        return next((s for s in self.quiz_states if s.quiz.pk == quiz_id), None)

    @property
    def next_quiz(self) -> QuizState | None:
        """The quiz the learner's next step is about: an open attempt first, else the first not passed."""
        states = self.quiz_states
        return next((s for s in states if s.open_attempt_id), None) or next(
            (s for s in states if not s.standing.passed), None
        )


def learner_next_step(
    *,
    enrollment: Enrollment,
    outline,
    evaluation_pending: bool | None = None,
    after_reading: int | None = None,
) -> NextStep:
    """The enrollment's next step (courses.next_step), naming the learner's supervisor for sign-offs
    (read through OUTLINE_RELATED: no query of its own). evaluation_pending: None asks
    awaits_evaluation (one query, only for a completed course). after_reading: a lesson id, for the
    step once that lesson is read (what a lesson's "Mark as read and ..." leads to)."""
    if evaluation_pending is None:
        evaluation_pending = enrollment.status == Enrollment.Status.COMPLETED and awaits_evaluation(
            enrollment
        )
    supervisor = enrollment.user.supervisor
    context = {
        "enrollment": enrollment,
        "outline": outline,
        "evaluation_pending": evaluation_pending,
        "supervisor_name": supervisor.display_name if supervisor else None,
    }
    if after_reading is not None:
        return step_after_reading(lesson_id=after_reading, **context)
    return next_step(**context)


def lesson_lock_reason(*, quiz: Quiz, read: int, total: int, next_title: str | None) -> str | None:
    """The course layer's lock on a quiz, in the words the learner sees: how far the reading is and
    where to go on ("3 of 6 lessons read · continue with ..."); None when open."""
    if not quiz.require_lessons_read or read >= total:
        return None
    lessons = "lesson" if total == 1 else "lessons"
    if quiz.kind == Quiz.Kind.FINAL:
        lessons += " of the course"
    return f"{read} of {total} {lessons} read · continue with {next_title}"


def quiz_start_context(*, user, quiz: Quiz) -> tuple[str | None, datetime | None]:
    """What the course layer passes to the quiz engine's start rule: (lesson lock, window start).
    A standalone quiz (practice, engine tests) has neither."""
    if not quiz_belongs_to_a_course(quiz=quiz):
        return None, None
    enrollment = enrollment_for_quiz(user=user, quiz=quiz)
    if enrollment is None:
        return "This quiz is not part of a course you are enrolled in.", None
    lock = None
    if quiz.require_lessons_read:
        read, total, next_title = lesson_reading_for_quiz(enrollment=enrollment, quiz=quiz)
        lock = lesson_lock_reason(quiz=quiz, read=read, total=total, next_title=next_title)
    # Attempts count toward the limit and cool-down from the start of the enrollment (a new cycle
    # starts afresh).
    return lock, enrollment.enrolled_at


def _quiz_state(quiz: Quiz, attempts: list[Attempt], *, overrides, lessons: list, now: datetime) -> QuizState:
    """lessons: the (lesson, read) pairs the quiz's lesson lock covers, in course order."""
    unread = [lesson for lesson, read in lessons if not read]
    lock = lesson_lock_reason(
        quiz=quiz,
        read=len(lessons) - len(unread),
        total=len(lessons),
        next_title=unread[0].title if unread else None,
    )
    eligibility = quiz_eligibility(
        quiz=quiz, attempts=attempts, overrides=overrides_for(overrides, quiz.pk), lesson_lock=lock, now=now
    )
    # Where to go on when the rule refused the start for the lesson lock (its reason names the lesson).
    locked = eligibility.blocked_by == QuizStartState.LOCKED
    return QuizState(quiz=quiz, eligibility=eligibility, next_lesson=unread[0] if locked else None)


def course_outline(*, enrollment: Enrollment, now: datetime | None = None) -> CourseOutline:
    """Modules, lessons with read flags, quiz states and the final exam of one enrollment. 5 queries
    (7 when the course requires skill sign-offs; one fewer with OUTLINE_RELATED selected)."""
    return course_outlines(enrollments=[enrollment], now=now)[0]


def course_outlines(
    *,
    enrollments: list[Enrollment],
    now: datetime | None = None,
    overrides: list | None = None,
    with_skills: bool = True,
) -> list[CourseOutline]:
    """The outline of each enrollment (one learner's), every quiz state from the one start rule.
    4 queries (6 with skill sign-offs) whatever the number of enrollments, modules or attempts, when
    the enrollments come with OUTLINE_RELATED; `overrides`: the learner's quiz overrides if already read."""
    from courses.models import RequiredSkill, SkillSignoff

    if not enrollments:
        return []
    now = now or timezone.now()
    user_id = enrollments[0].user_id
    version_ids = {e.version_id for e in enrollments}
    modules_by_version: dict[int, list[Module]] = {}
    for module in (
        Module.objects.filter(version_id__in=version_ids)
        .select_related("quiz")
        .prefetch_related(
            Prefetch("lessons", queryset=Lesson.objects.order_by("position").defer("body", "body_html"))
        )
        .order_by("position")
    ):
        modules_by_version.setdefault(module.version_id, []).append(module)
    read_ids = set(
        LessonProgress.objects.filter(enrollment__in=enrollments, completed_at__isnull=False).values_list(
            "enrollment_id", "lesson_id"
        )
    )
    # A clinical update covers only the changed lessons, with its own quiz in place of the final exam.
    # Read through the relations (OUTLINE_RELATED: no query when the caller selected them).
    finals = {
        e.pk: (e.update_quiz if e.kind == Enrollment.Kind.UPDATE else e.version.final_exam)
        for e in enrollments
    }
    quiz_ids = {q.pk for q in finals.values() if q} | {
        m.quiz_id for ms in modules_by_version.values() for m in ms
    }
    all_attempts = list(
        Attempt.objects.filter(user_id=user_id, quiz_id__in=quiz_ids).defer("layout").order_by("number")
    )
    if overrides is None:
        overrides = applicable_overrides(user=user_id, quiz_ids=quiz_ids)
    skilled = [e for e in enrollments if e.signoffs_total] if with_skills else []
    skills_by_version: dict[int, list] = {}
    signed: dict[tuple[int, int], SkillSignoff] = {}
    if skilled:
        for skill in RequiredSkill.objects.filter(version_id__in={e.version_id for e in skilled}):
            skills_by_version.setdefault(skill.version_id, []).append(skill)
        signed = {
            (s.enrollment_id, s.skill_id): s
            for s in SkillSignoff.objects.filter(enrollment__in=skilled).select_related("observer")
        }

    def state_of(enrollment: Enrollment, quiz: Quiz, lessons: list) -> QuizState:
        # The window: attempts count from the start of this enrollment (a new cycle starts afresh).
        attempts = [
            a for a in all_attempts if a.quiz_id == quiz.pk and a.started_at >= enrollment.enrolled_at
        ]
        return _quiz_state(quiz, attempts, overrides=overrides, lessons=lessons, now=now)

    outlines = []
    for enrollment in enrollments:
        is_update = enrollment.kind == Enrollment.Kind.UPDATE
        modules = []
        all_lessons = []
        all_pairs = []
        for module in modules_by_version.get(enrollment.version_id, []):
            lessons = [
                (lesson, (enrollment.pk, lesson.pk) in read_ids)
                for lesson in module.lessons.all()
                if not is_update or lesson.key in enrollment.update_lesson_keys
            ]
            if is_update and not lessons:
                continue
            all_lessons += [lesson for lesson, _ in lessons]
            all_pairs += lessons
            state = None if is_update else state_of(enrollment, module.quiz, lessons)
            modules.append(ModuleOutline(module, lessons, state))
        final_exam = finals[enrollment.pk]
        outlines.append(
            CourseOutline(
                enrollment=enrollment,
                version=enrollment.version,
                modules=modules,
                final_exam=state_of(enrollment, final_exam, all_pairs) if final_exam else None,
                progress=stored_progress(enrollment),
                overdue=is_overdue(enrollment),
                all_lessons=all_lessons,
                skills=[
                    (skill, signed.get((enrollment.pk, skill.pk)))
                    for skill in skills_by_version.get(enrollment.version_id, [])
                ]
                if enrollment.signoffs_total
                else [],
            )
        )
    return outlines


def enrollment_for_course(*, user, slug: str) -> Enrollment | None:
    return (
        Enrollment.objects.filter(user=user, course__slug=slug, kind=Enrollment.Kind.REGULAR)
        .select_related(*OUTLINE_RELATED)
        .order_by("-cycle")
        .first()
    )


def clinical_update_for_learner(*, user, enrollment_id: int) -> Enrollment | None:
    """One of the learner's own clinical update enrollments, ready for its outline. 1 query."""
    return (
        Enrollment.objects.filter(pk=enrollment_id, user=user, kind=Enrollment.Kind.UPDATE)
        .select_related(*OUTLINE_RELATED)
        .first()
    )


def open_clinical_update(*, user, course: Course) -> Enrollment | None:
    """The learner's unfinished clinical update of a course, if any. 1 query."""
    return (
        Enrollment.objects.filter(user=user, course=course, kind=Enrollment.Kind.UPDATE)
        .exclude(status__in=[Enrollment.Status.COMPLETED, Enrollment.Status.EXEMPT])
        .select_related(*OUTLINE_RELATED)
        .order_by("-enrolled_at")
        .first()
    )


@dataclass
class LessonView:
    lesson: Lesson
    module: Module
    enrollment: Enrollment
    previous: Lesson | None
    next: Lesson | None
    read: bool
    position: int
    count: int


@dataclass
class LessonAccess:
    lesson: Lesson
    enrollment: Enrollment


def lesson_access(*, user, lesson_id: int, with_body: bool = True) -> LessonAccess | None:
    """The lesson and the learner's enrollment that covers it: a regular enrollment on its version
    first, else a clinical update that covers it (None: not the learner's lesson, a 404). 2 queries.
    What the lesson services need; the page adds its neighbours (lesson_for_learner)."""
    lessons = Lesson.objects.select_related("module__version__course", "module__quiz")
    if not with_body:
        lessons = lessons.defer("body", "body_html")
    lesson = lessons.filter(pk=lesson_id).first()
    if lesson is None:
        return None
    candidates = list(
        Enrollment.objects.filter(user=user, version_id=lesson.module.version_id)
        .select_related(*OUTLINE_RELATED)
        .order_by("kind", "-cycle")
    )
    enrollment = next(
        (e for e in candidates if e.kind == Enrollment.Kind.REGULAR or lesson.key in e.update_lesson_keys),
        None,
    )
    return LessonAccess(lesson, enrollment) if enrollment is not None else None


def lesson_for_learner(*, user, lesson_id: int) -> LessonView | None:
    """The lesson if it belongs to a course version the learner is enrolled in (else None: 404), with
    its neighbours and read flag. 3 queries."""
    access = lesson_access(user=user, lesson_id=lesson_id)
    if access is None:
        return None
    lesson, enrollment = access.lesson, access.enrollment
    siblings = list(
        enrollment_lessons(enrollment)
        .order_by("module__position", "position")
        .only("pk", "title", "module_id")
        .annotate(
            is_read=Count(
                "pk",
                filter=Q(
                    pk__in=LessonProgress.objects.filter(
                        enrollment=enrollment, completed_at__isnull=False
                    ).values("lesson_id")
                ),
            )
        )
    )
    index = next(i for i, s in enumerate(siblings) if s.pk == lesson.pk)
    return LessonView(
        lesson=lesson,
        module=lesson.module,
        enrollment=enrollment,
        previous=siblings[index - 1] if index > 0 else None,
        next=siblings[index + 1] if index + 1 < len(siblings) else None,
        read=bool(siblings[index].is_read),
        position=index + 1,
        count=len(siblings),
    )


def transcript(*, user) -> list[dict]:
    """Every enrollment with version, scores, dates, CE hours and certificates, and the next quiz step
    of unfinished ones. 4 queries, plus course_outlines' when any enrollment is unfinished."""
    enrollments = list(
        Enrollment.objects.filter(user=user)
        .select_related(*OUTLINE_RELATED)
        # Server-measured lesson time behind the CE hours (courses.enrollment.progress.recorded_lesson_seconds).
        .annotate(lesson_seconds=Sum("lesson_progress__seconds_recorded", default=0))
        .order_by("-enrolled_at")
        .prefetch_related(
            Prefetch("version__modules", queryset=Module.objects.only("pk", "version_id", "quiz_id"))
        )
    )
    quiz_titles = {}
    rows = []
    attempts = list(
        Attempt.objects.filter(user=user, state=AttemptState.SUBMITTED)
        .select_related("quiz")
        .defer("layout")
        .order_by("submitted_at")
    )
    certificates_by_enrollment: dict[int, list] = {}
    for certificate in (
        Certificate.objects.filter(user=user).select_related("renews").order_by("issued_at", "pk")
    ):
        certificates_by_enrollment.setdefault(certificate.enrollment_id, []).append(certificate)
    for enrollment in enrollments:
        if enrollment.kind == Enrollment.Kind.UPDATE:
            # A clinical update's result is its own quiz, not the new version's module quizzes.
            quiz_ids = {enrollment.update_quiz_id}
        else:
            quiz_ids = {m.quiz_id for m in enrollment.version.modules.all()} | {
                enrollment.version.final_exam_id
            }
        mine = [
            a
            for a in attempts
            if a.quiz_id in quiz_ids
            and a.started_at >= enrollment.enrolled_at
            and (enrollment.completed_at is None or a.started_at <= enrollment.completed_at)
        ]
        best: dict[int, Attempt] = {}
        for attempt in mine:
            quiz_titles[attempt.quiz_id] = attempt.quiz.title
            if attempt.quiz_id not in best or attempt.score > best[attempt.quiz_id].score:
                best[attempt.quiz_id] = attempt
        rows.append(
            {
                "enrollment": enrollment,
                "best_attempts": sorted(best.values(), key=lambda a: a.quiz.title),
                "certificates": certificates_by_enrollment.get(enrollment.pk, []),
                "next_quiz": None,
            }
        )
    unfinished = [
        row
        for row in rows
        if row["enrollment"].status not in (Enrollment.Status.COMPLETED, Enrollment.Status.EXEMPT)
    ]
    # The next quiz step of each unfinished enrollment, from the one start rule (as on the home page).
    for row, outline in zip(
        unfinished, course_outlines(enrollments=[r["enrollment"] for r in unfinished]), strict=True
    ):
        row["next_quiz"] = outline.next_quiz
    return rows


def missed_objectives(*, attempt: Attempt) -> list[str]:
    """Objectives of the items a failed attempt did not get fully right, for remediation. 1 query."""
    from quizzes.services import missed_objectives as quiz_missed_objectives

    return quiz_missed_objectives(attempt)
