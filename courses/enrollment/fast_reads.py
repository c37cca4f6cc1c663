"""Course reads on the grading path, as SQL written once per process.

What follows every grading needs the id of the learner's newest enrollment that includes the quiz
(`selectors.enrollment_for_quiz`'s rule); compiling that ORM query (an OR of joins, ordered, with the
outline's related rows) took more than half of a submit's CPU under load (py-spy, issue 18), far more
than PostgreSQL spends answering it. `tests/unit/test_fast_reads.py` holds it equal to the selector case
by case; elsewhere than PostgreSQL the selector itself answers."""

from django.db import connection

from courses.models import CourseVersion, Enrollment, Module

_sql: str | None = None


def _select() -> str:
    global _sql
    if _sql is None:
        quote = connection.ops.quote_name
        enrollments, versions, modules = (
            quote(m._meta.db_table) for m in (Enrollment, CourseVersion, Module)
        )
        _sql = (
            f"SELECT e.id FROM {enrollments} e JOIN {versions} v ON v.id = e.version_id "  # noqa: S608 - names from the models
            "WHERE e.user_id = %(user)s AND e.status <> %(exempt)s AND ("
            "(e.kind = %(regular)s AND (v.final_exam_id = %(quiz)s OR EXISTS "
            f"(SELECT 1 FROM {modules} m WHERE m.version_id = e.version_id AND m.quiz_id = %(quiz)s))) "
            "OR (e.kind = %(update)s AND e.update_quiz_id = %(quiz)s)) "
            "ORDER BY e.cycle DESC, e.id DESC LIMIT 1"
        )
    return _sql


def enrollment_id_for_quiz(*, user, quiz) -> int | None:
    """The id of the learner's newest enrollment whose course version includes this quiz."""
    if connection.vendor != "postgresql":
        from courses.enrollment.selectors import enrollment_for_quiz

        found = enrollment_for_quiz(user=user, quiz=quiz)
        return found.pk if found else None
    with connection.cursor() as cursor:
        cursor.execute(
            _select(),
            {
                "user": user.pk,
                "quiz": quiz.pk,
                "exempt": Enrollment.Status.EXEMPT,
                "regular": Enrollment.Kind.REGULAR,
                "update": Enrollment.Kind.UPDATE,
            },
        )
        row = cursor.fetchone()
    return row[0] if row else None
