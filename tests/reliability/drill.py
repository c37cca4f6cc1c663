"""A snapshot of what a restore must preserve, as plain JSON: every user's transcript (courses.enrollment.selectors
.transcript), their certificates, counts of the legal records, and the audit chain check.

    DATABASE_URL=postgres://.../restored DJANGO_SETTINGS_MODULE=elearn.settings.test \\
        python -m tests.reliability.drill          # prints the snapshot of that database
"""

import json


def snapshot() -> dict:
    from accounts.models import User
    from core.audit import verify_chain
    from core.models import AuditEvent
    from courses.enrollment import selectors
    from courses.models import Certificate, Enrollment, LessonProgress
    from quizzes.models import Answer, Attempt

    transcripts = {}
    for user in User.objects.order_by("username"):
        rows = []
        for row in selectors.transcript(user=user):
            e = row["enrollment"]
            rows.append(
                {
                    "course": e.course.slug,
                    "version": e.version.number,
                    "cycle": e.cycle,
                    "status": e.status,
                    "progress": e.progress_percent,
                    "completed_at": e.completed_at.isoformat() if e.completed_at else None,
                    "ce_hours": str(e.course.ce_hours),
                    "best": [
                        [a.quiz.title, str(a.score), a.passed, a.submitted_at.isoformat()]
                        for a in row["best_attempts"]
                    ],
                    "certificates": [
                        [
                            c.number,
                            c.verify_code,
                            c.learner_name,
                            str(c.completed_on),
                            bool(c.pdf),
                            c.revoked_at is not None,
                        ]
                        for c in row["certificates"]
                    ],
                }
            )
        transcripts[user.username] = rows
    chain = verify_chain()
    return {
        "transcripts": transcripts,
        "counts": {
            "users": User.objects.count(),
            "enrollments": Enrollment.objects.count(),
            "lesson_progress": LessonProgress.objects.count(),
            "attempts": Attempt.objects.count(),
            "answers": Answer.objects.count(),
            "certificates": Certificate.objects.count(),
            "audit_events": AuditEvent.objects.count(),
        },
        "audit_chain": {"ok": chain.ok, "events": chain.events, "message": chain.message},
        "last_audit_hash": AuditEvent.objects.order_by("pk").values_list("hash", flat=True).last(),
    }


if __name__ == "__main__":
    import django

    django.setup()
    print(json.dumps(snapshot(), sort_keys=True))
