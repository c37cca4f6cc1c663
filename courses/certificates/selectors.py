"""Certificate and course-evaluation reads."""

from django.db.models import Q

from courses.models import Certificate, CourseEvaluation, Enrollment, LessonProgress


def certificates_for(*, user) -> list:
    """The learner's certificates, newest first, with what each renews, its course version (reviewed or
    a draft) and the lesson time recorded behind its CE hours. 1 query."""

    from django.db.models import OuterRef, Subquery, Sum

    reading = (
        LessonProgress.objects.filter(enrollment=OuterRef("enrollment"))
        .values("enrollment")
        .annotate(total=Sum("seconds_recorded"))
        .values("total")
    )
    return list(
        Certificate.objects.filter(user=user)
        .select_related("renews", "replaces", "version")
        .annotate(reading_seconds=Subquery(reading))
        .order_by("-issued_at")
    )


def enrollments_awaiting_evaluation(*, user) -> list[Enrollment]:
    """Completed CE courses whose certificate waits for the learner's evaluation. 1 query."""
    return list(
        Enrollment.objects.filter(
            awaiting_evaluation_filter(), user=user, status=Enrollment.Status.COMPLETED
        ).select_related("course")
    )


def evaluation_summary(*, course) -> dict:
    """Aggregate course evaluation answers for admins: count, mean per question, comments. 1 query."""
    rows = list(
        CourseEvaluation.objects.filter(enrollment__course=course).values(
            "ratings", "comments", "submitted_at"
        )
    )
    means = {}
    for key, text in CourseEvaluation.RATING_QUESTIONS.items():
        values = [r["ratings"].get(key) for r in rows if isinstance(r["ratings"].get(key), int)]
        means[key] = {
            "question": text,
            "mean": round(sum(values) / len(values), 2) if values else None,
            "distribution": {n: values.count(n) for n in range(1, 6)},
        }
    return {
        "count": len(rows),
        "questions": means,
        "comments": [r["comments"] for r in sorted(rows, key=lambda r: r["submitted_at"]) if r["comments"]],
    }


# --- the evaluation rule, written once (here, as a test and as a query condition) ----------------------


def awaits_evaluation(enrollment: Enrollment) -> bool:
    """A course with CE hours issues its certificate only after the learner's course evaluation (no
    query for a course without CE hours)."""
    return (
        enrollment.course.ce_hours > 0 and not CourseEvaluation.objects.filter(enrollment=enrollment).exists()
    )


def awaiting_evaluation_filter() -> Q:
    """`awaits_evaluation` as a query condition on enrollments."""
    return Q(course__ce_hours__gt=0, evaluation__isnull=True)
