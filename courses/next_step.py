"""The learner's next step in a course: decided here and nowhere else. Pure: an enrollment and its
outline (courses.enrollment.selectors.course_outlines) in, one step out; no query, no clock.

Every learner page shows it: My courses (each card's button), the course page (its primary button),
the lesson page (what "Mark as read and ..." leads to, and the step once the lesson is read) and a quiz
result after a pass. Whether a quiz may start is not decided here: each quiz's state comes from the one
start rule (quizzes.eligibility) through the outline.

The order is the course's own: finish an open attempt first; then, module by module, the unread
lessons and then the module's quiz; then the final exam (or a clinical update's quiz); then the skill
sign-offs a supervisor observes; once complete, the course evaluation (CE courses) and the certificate.
"""

from dataclasses import dataclass, replace
from enum import StrEnum


class Step(StrEnum):
    START = "start"  # nothing done yet: the first lesson
    READ_LESSON = "read_lesson"  # the next unread lesson
    NEXT_MODULE = "next_module"  # the first lesson of a module not begun, after the one before it
    TAKE_QUIZ = "take_quiz"  # a module quiz whose lessons are read, not passed yet
    FINAL_EXAM = "final_exam"  # every module done: the final exam
    UPDATE_QUIZ = "update_quiz"  # a clinical update's changed lessons read: its quiz
    RESUME_QUIZ = "resume_quiz"  # an attempt in progress
    SEE_RESULT = "see_result"  # time ran out on an open attempt: opening it grades it
    QUIZ_WAIT = "quiz_wait"  # the next quiz cannot start now (cool-down, attempts used): the reason says
    SIGNOFFS = "signoffs"  # only skill sign-offs remain
    EVALUATION = "evaluation"  # complete; only the course evaluation stands before the certificate
    CERTIFICATE = "certificate"  # complete
    EXEMPT = "exempt"


QUIZ_STEPS = {Step.TAKE_QUIZ, Step.FINAL_EXAM, Step.UPDATE_QUIZ, Step.QUIZ_WAIT}


@dataclass(frozen=True)
class NextStep:
    kind: Step
    label: str  # the button's words; "" when there is nothing to click (a banner says what to do)
    message: str = ""  # a line shown with the button, or the banner when there is no button
    lesson: object | None = None  # READ_LESSON, START, NEXT_MODULE: the lesson to open
    quiz_state: object | None = None  # quiz steps: the quiz's state from the one start rule

    @property
    def is_banner(self) -> bool:
        """Only sign-offs or only the evaluation remain (or exempt): said as a banner."""
        return self.kind in (Step.SIGNOFFS, Step.EVALUATION, Step.EXEMPT)

    @property
    def quiz(self):
        return self.quiz_state.quiz if self.quiz_state is not None else None


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _quiz_step(state, *, final: bool, update: bool) -> NextStep:
    again = state.standing.attempts_used > 0
    if not state.can_start:  # locked, cooling down, attempts used up: the rule's reason says why and when
        return NextStep(Step.QUIZ_WAIT, f"Open {state.quiz.title}", state.reason, quiz_state=state)
    if update:
        return NextStep(
            Step.UPDATE_QUIZ,
            "Try the update quiz again" if again else "Take the update quiz",
            quiz_state=state,
        )
    if final:
        left = state.attempts_left
        note = f"{_plural(left, 'attempt')} left." if again and left is not None else ""
        label = "Try the final exam again" if again else "Start the final exam"
        return NextStep(Step.FINAL_EXAM, label, note, quiz_state=state)
    return NextStep(
        Step.TAKE_QUIZ, "Try the module quiz again" if again else "Take the module quiz", quiz_state=state
    )


def next_step(
    *, enrollment, outline, evaluation_pending: bool = False, supervisor_name: str | None = None
) -> NextStep:
    """The one next step of an enrollment.

    outline: the enrollment's CourseOutline; may be None for a completed or exempt enrollment.
    evaluation_pending: a completed course's certificate waits for the course evaluation
        (courses.certificates.selectors.awaits_evaluation, or enrollments_awaiting_evaluation for many).
    supervisor_name: who observes the skills, named in the sign-off banner.
    """
    if enrollment.status == "exempt":
        return NextStep(Step.EXEMPT, "", "You are exempt from this course: there is nothing to do.")
    if enrollment.status == "completed":
        if evaluation_pending:
            return NextStep(
                Step.EVALUATION,
                "Complete the course evaluation",
                "Only the course evaluation remains: complete it to receive your certificate.",
            )
        return NextStep(Step.CERTIFICATE, "See your certificate")

    is_update = enrollment.kind == "update"
    # An attempt already open comes first: finish what was started.
    for state in outline.quiz_states:
        if state.state == "time_up":
            return NextStep(
                Step.SEE_RESULT, f"See your result: {state.quiz.title}", state.reason, quiz_state=state
            )
        if state.state == "in_progress":
            return NextStep(Step.RESUME_QUIZ, f"Resume {state.quiz.title}", state.reason, quiz_state=state)

    anything_done = any(read for m in outline.modules for _, read in m.lessons) or any(
        s.standing.passed for s in outline.quiz_states
    )
    for index, module in enumerate(outline.modules):
        unread = next((lesson for lesson, read in module.lessons if not read), None)
        if unread is not None:
            if not anything_done:
                what = "update" if is_update else "course"
                return NextStep(Step.START, f"Start the {what}: {unread.title}", lesson=unread)
            if index > 0 and module.lessons_read == 0 and not is_update:
                return NextStep(Step.NEXT_MODULE, f"Next module: {module.module.title}", lesson=unread)
            return NextStep(Step.READ_LESSON, f"Continue with {unread.title}", lesson=unread)
        if module.quiz is not None and not module.quiz.standing.passed:
            return _quiz_step(module.quiz, final=False, update=False)
    final = outline.final_exam
    if final is not None and not final.standing.passed:
        return _quiz_step(final, final=not is_update, update=is_update)
    missing = sum(1 for _, signoff in outline.skills if signoff is None)
    if missing:
        who = supervisor_name or "your supervisor"
        return NextStep(
            Step.SIGNOFFS,
            "",
            f"Only skill sign-offs remain. Ask {who} to observe {_plural(missing, 'skill')}.",
        )
    # Everything is done and the completion is being recorded: the certificate follows.
    return NextStep(Step.CERTIFICATE, "See your certificate")


def step_after_reading(*, enrollment, outline, lesson_id: int, **context) -> NextStep:
    """The next step once this lesson is read: what "Mark as read and ..." leads to."""
    modules = [
        replace(m, lessons=[(lesson, read or lesson.pk == lesson_id) for lesson, read in m.lessons])
        for m in outline.modules
    ]
    # The quiz states stay as they are: a quiz this reading unlocks is taken from the quiz page, which
    # asks the one start rule again.
    step = next_step(enrollment=enrollment, outline=replace(outline, modules=modules), **context)
    if step.kind == Step.QUIZ_WAIT and step.quiz_state.state == "locked":
        # Locked only by the lessons this reading completes: the quiz is what follows.
        state = step.quiz_state
        if enrollment.kind == "update":
            return NextStep(Step.UPDATE_QUIZ, "Take the update quiz", quiz_state=state)
        if outline.final_exam is not None and state.quiz.pk == outline.final_exam.quiz.pk:
            return NextStep(Step.FINAL_EXAM, "Start the final exam", quiz_state=state)
        return NextStep(Step.TAKE_QUIZ, "Take the module quiz", quiz_state=state)
    return step


def lesson_button_words(step: NextStep) -> str:
    """The words after "Mark as read" on a lesson: where reading it leads."""
    return {
        Step.TAKE_QUIZ: "and take the module quiz",
        Step.FINAL_EXAM: "and start the final exam",
        Step.UPDATE_QUIZ: "and take the update quiz",
        Step.READ_LESSON: "and continue",
        Step.NEXT_MODULE: "and go to the next module",
        Step.START: "and continue",
    }.get(step.kind, "")
