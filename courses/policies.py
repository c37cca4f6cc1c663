"""Course-level rules the quiz engine asks about (plugged in through settings.QUIZ_ACCESS_CHECKS)."""

from quizzes.models import Quiz

from . import selectors


def quiz_access(*, user, quiz: Quiz) -> str | None:
    """None when the learner may start the quiz, else the reason shown to them."""
    if not selectors.quiz_belongs_to_a_course(quiz=quiz):
        return None  # a standalone quiz (practice, engine tests) has no course-level lock
    enrollment = selectors.enrollment_for_quiz(user=user, quiz=quiz)
    if enrollment is None:
        return "This quiz is not part of a course you are enrolled in."
    if not quiz.require_lessons_read:
        return None
    unread = selectors.unread_lessons_for_quiz(enrollment=enrollment, quiz=quiz)
    if unread:
        if quiz.kind == Quiz.Kind.FINAL:
            return f"Read every lesson of the course before the final exam ({unread} still unread)."
        return f"Read every lesson of this module before the quiz ({unread} still unread)."
    return None


def attempt_window_start(*, user, quiz: Quiz):
    """Attempts count toward a quiz's limit and cool-down from the start of the learner's enrollment
    that includes it (a recertification cycle starts afresh)."""
    enrollment = selectors.enrollment_for_quiz(user=user, quiz=quiz)
    return enrollment.enrolled_at if enrollment is not None else None
