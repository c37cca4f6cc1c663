"""Reads for the LTI pages, each with a fixed number of queries."""

from dataclasses import dataclass

from django.conf import settings

from courses.models import Course, CourseVersion, Module


@dataclass(frozen=True)
class QuizChoice:
    key: str
    title: str
    is_final: bool


@dataclass(frozen=True)
class CourseChoice:
    slug: str
    title: str
    quizzes: list[QuizChoice]


def deep_link_choices() -> list[CourseChoice]:
    """What an instructor may place in the LMS: every course that runs for learners (its published
    version; in the embedded demo also an unreviewed draft), with its module quizzes and final exam.
    Two queries whatever the number of courses."""
    published: dict[int, CourseVersion] = {}
    latest: dict[int, CourseVersion] = {}
    for version in CourseVersion.objects.select_related("course", "final_exam").order_by(
        "course__title", "-number"
    ):
        latest.setdefault(version.course_id, version)
        if version.status == CourseVersion.Status.PUBLISHED:
            published[version.course_id] = version
    if settings.COURSE_ALLOW_UNREVIEWED:  # the same rule as courses.selectors.current_version
        published = {cid: published.get(cid, version) for cid, version in latest.items()}
    modules = (
        Module.objects.filter(version__in=list(published.values()))
        .select_related("quiz")
        .order_by("position")
    )
    by_version: dict[int, list[QuizChoice]] = {}
    for module in modules:
        by_version.setdefault(module.version_id, []).append(
            QuizChoice(module.quiz.key, module.quiz.title, False)
        )
    out = []
    for version in published.values():
        quizzes = list(by_version.get(version.pk, []))
        if version.final_exam is not None:
            quizzes.append(QuizChoice(version.final_exam.key, version.final_exam.title, True))
        out.append(CourseChoice(version.course.slug, version.course.title, quizzes))
    return out


def find_choice(*, course_slug: str, quiz_key: str = "") -> tuple[CourseChoice, QuizChoice | None] | None:
    """The placed course (and quiz) if it is one an instructor may choose, else None."""
    for course in deep_link_choices():
        if course.slug != course_slug:
            continue
        if not quiz_key:
            return course, None
        for quiz in course.quizzes:
            if quiz.key == quiz_key:
                return course, quiz
    return None


def course_by_slug(slug: str) -> Course | None:
    return Course.objects.filter(slug=slug).first()
