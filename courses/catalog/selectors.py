"""Catalog reads: which version runs, which quizzes belong to a version or a course."""

from django.conf import settings
from django.db.models import Q

from courses.models import Course, CourseVersion, Enrollment, Module
from quizzes.models import Quiz


def current_version(course: Course) -> CourseVersion | None:
    """The version new enrollments get: the published one; in the demo, an unreviewed draft if none is."""
    published = course.versions.filter(status=CourseVersion.Status.PUBLISHED).first()
    if published is not None or not settings.COURSE_ALLOW_UNREVIEWED:
        return published
    return course.versions.order_by("-number").first()


def version_quiz_ids(version: CourseVersion) -> list[int]:
    ids = list(Module.objects.filter(version=version).values_list("quiz_id", flat=True))
    if version.final_exam_id:
        ids.append(version.final_exam_id)
    return ids


def quiz_belongs_to_a_course(*, quiz: Quiz) -> bool:
    return (
        Module.objects.filter(quiz=quiz).exists()
        or CourseVersion.objects.filter(final_exam=quiz).exists()
        or Enrollment.objects.filter(update_quiz=quiz).exists()
    )


def objective_texts(*, quiz) -> dict[str, str]:
    """What each learning objective id means, from the course versions using the quiz. 1 query."""
    texts: dict[str, str] = {}
    for objectives in CourseVersion.objects.filter(Q(modules__quiz=quiz) | Q(final_exam=quiz)).values_list(
        "objectives", flat=True
    ):
        texts.update(objectives or {})
    return texts
