"""Where a learner's next step (courses.next_step) leads on these pages."""

from django import template
from django.urls import reverse

from courses.next_step import QUIZ_STEPS, Step

register = template.Library()


@register.filter
def step_url(step, enrollment) -> str:
    """The page a next step opens; the course page when there is nothing to click."""
    if step.kind in (Step.START, Step.READ_LESSON, Step.NEXT_MODULE):
        return reverse("frontend:lesson", args=[step.lesson.pk])
    if step.kind in QUIZ_STEPS:
        return reverse("frontend:quiz", args=[step.quiz.pk])
    if step.kind == Step.RESUME_QUIZ:
        return reverse("frontend:attempt", args=[step.quiz_state.open_attempt_id])
    if step.kind == Step.SEE_RESULT:
        return reverse("frontend:attempt_result", args=[step.quiz_state.open_attempt_id])
    if step.kind == Step.EVALUATION:
        return reverse("frontend:evaluation", args=[enrollment.course.slug])
    if step.kind == Step.CERTIFICATE:
        return reverse("frontend:certificates")
    if enrollment.kind == "update":
        return reverse("frontend:update", args=[enrollment.pk])
    return reverse("frontend:course", args=[enrollment.course.slug])
