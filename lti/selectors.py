"""Reads for the LTI pages, each with a fixed number of queries."""

from dataclasses import dataclass

from django.conf import settings
from django.db import connection

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
    if settings.COURSE_ALLOW_UNREVIEWED:  # the same rule as courses.catalog.selectors.current_version
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


@dataclass(frozen=True)
class RosterRow:
    member: object  # lti.passback.Member
    account: object | None  # the linked account, when the viewer may report on it
    status: str  # the latest enrollment's status in the linked course, as people read it
    account_label: str  # what the "Account here" column says


def roster_rows(*, link, members: list, viewer) -> list[RosterRow]:
    """The LMS roster beside what this engine knows: whose account is linked and, for the people the
    viewer may report on (courses.scope.visible_staff), how far they are in the linked course. Three
    queries whatever the roster's size."""
    from courses.models import Enrollment
    from courses.scope import visible_staff

    from .models import PlatformUser

    identities = {
        p.sub: p.user
        for p in PlatformUser.objects.filter(
            platform_id=link.platform_id,
            deployment_id=link.deployment_id,
            sub__in=[m.user_id for m in members],
        ).select_related("user")
    }
    visible = set(
        visible_staff(viewer).filter(pk__in=[u.pk for u in identities.values()]).values_list("pk", flat=True)
    )
    statuses: dict[int, str] = {}
    for enrollment in Enrollment.objects.filter(
        user_id__in=visible, course_id=link.course_id, kind=Enrollment.Kind.REGULAR
    ).order_by("user_id", "-cycle"):
        statuses.setdefault(enrollment.user_id, enrollment.get_status_display())
    rows = []
    for member in members:
        account = identities.get(member.user_id)
        if account is None:
            rows.append(RosterRow(member, None, "", "Not opened yet"))
        elif account.pk not in visible:
            rows.append(RosterRow(member, None, "", "Linked (not in your team)"))
        else:
            rows.append(
                RosterRow(member, account, statuses.get(account.pk, "Not enrolled"), account.username)
            )
    return rows


_learner_links_sql: str | None = None


def learner_has_quiz_links(*, quiz_key: str, user_id: int) -> bool:
    """Whether the learner launched any placement of this quiz on an active platform: the gate in front
    of the score passback on every grading. Plain SQL written once per process, because compiling the
    ORM's join cost 14-19% of a submit's CPU (py-spy, issue 18) and almost every grading has no link."""
    global _learner_links_sql
    from .models import Platform, PlatformUser, ResourceLink

    if _learner_links_sql is None:
        quote = connection.ops.quote_name
        through = ResourceLink.learners.through._meta
        link_column = quote(through.get_field("resourcelink").column)
        learner_column = quote(through.get_field("platformuser").column)
        links, members, identities, platforms = (
            quote(table)
            for table in (
                ResourceLink._meta.db_table,
                through.db_table,
                PlatformUser._meta.db_table,
                Platform._meta.db_table,
            )
        )
        _learner_links_sql = (
            f"SELECT 1 FROM {links} rl JOIN {members} m ON m.{link_column} = rl.id "  # noqa: S608 - names from the models
            f"JOIN {identities} pu ON pu.id = m.{learner_column} "
            f"JOIN {platforms} p ON p.id = rl.platform_id "
            "WHERE rl.quiz_key = %s AND pu.user_id = %s AND p.is_active LIMIT 1"
        )
    with connection.cursor() as cursor:
        cursor.execute(_learner_links_sql, [quiz_key, user_id])
        return cursor.fetchone() is not None
