"""Publishing a clinically significant change: the update enrollment for every certificate holder."""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core import audit
from courses.models import CourseVersion, Enrollment, Lesson
from quizzes import services as quiz_services
from quizzes.models import Pool

CLINICAL_UPDATE_DUE_DAYS = 30


@transaction.atomic
def assign_clinical_updates(
    *, version: CourseVersion, due_days: int = CLINICAL_UPDATE_DUE_DAYS, now: datetime | None = None
) -> int:
    """Everyone holding a valid certificate from an older version gets a short update: an enrollment
    with only the clinically significant changed lessons and a quiz of the changed questions, due in
    `due_days`. Their certificate stays valid until that date. Minor wording changes assign nothing.
    Idempotent: one update per person and version (a constraint)."""
    from courses.models import Certificate

    now = now or timezone.now()
    significant = set(version.changes.get("clinically_significant", []))
    lesson_keys = sorted(
        significant
        & set(version.changes.get("lessons_changed", []) + version.changes.get("lessons_added", []))
    )
    question_keys = sorted(significant - set(lesson_keys))
    lessons = list(Lesson.objects.filter(module__version=version, key__in=lesson_keys))
    # The update quiz reviews with full keys, so it is a practice quiz: a changed exam-pool item is
    # never drawn by name; its objective is retested from the practice pool instead.
    changed = quiz_services.drawable_questions(Pool.PRACTICE).filter(key__in=question_keys)
    practice_keys = sorted(changed.values_list("key", flat=True))
    exam_objectives = set(
        quiz_services.drawable_questions(Pool.EXAM)
        .filter(key__in=question_keys)
        .values_list("objective", flat=True)
    )
    draw = [{"question": key, "count": 1} for key in practice_keys]
    objectives = exam_objectives - set(changed.values_list("objective", flat=True))
    if not practice_keys:
        objectives |= {o for lesson in lessons for o in lesson.objectives}
    draw += [
        {"objective": o, "count": 1}
        for o in sorted(objectives)
        if quiz_services.drawable_questions(Pool.PRACTICE).filter(objective=o).exists()
    ]
    if not draw:
        return 0
    quiz, _ = quiz_services.upsert_quiz(
        key=f"{version.course.slug}-update-v{version.number}",
        settings_={
            "title": f"Clinical update quiz (version {version.number})",
            "kind": "module",
            "pass_mark": 80,
            "review_policy": "full",
            "layout": "all_on_one_page",
            "require_lessons_read": True,
            "time_limit_minutes": None,
        },
        draw=draw,
    )
    today = timezone.localdate(now)
    due = today + timedelta(days=due_days)
    holders = list(
        Certificate.objects.filter(
            enrollment__course=version.course,
            version__number__lt=version.number,
            revoked_at__isnull=True,
            user__is_active=True,
        )
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=today))
        .select_related("enrollment")
    )
    created = 0
    updated_users = set()
    for certificate in holders:
        _, was_created = Enrollment.objects.get_or_create(
            user_id=certificate.user_id,
            version=version,
            kind=Enrollment.Kind.UPDATE,
            defaults={
                "course": version.course,
                "cycle": certificate.enrollment.cycle,
                "source": Enrollment.Source.CLINICAL_UPDATE,
                "due_date": due,
                "enrolled_at": now,
                "update_quiz": quiz,
                "update_lesson_keys": lesson_keys,
                "lessons_total": len(lessons),
                "quizzes_total": 1,
            },
        )
        if was_created:
            created += 1
            updated_users.add(certificate.user_id)
    # Every valid certificate of a person given the update carries its deadline (a renewed person can
    # hold two valid certificates of the course, and both must lapse if the update is not done).
    Certificate.objects.filter(pk__in=[c.pk for c in holders if c.user_id in updated_users]).update(
        update_due=due
    )
    audit.record(
        action="clinical_update.assigned",
        target=version,
        now=now,
        data={"lessons": lesson_keys, "questions": question_keys, "people": created, "due": due},
    )
    return created
