from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.models import User
from courses import selectors, services
from courses.models import Enrollment

COURSE_DIR = Path(settings.BASE_DIR) / "courses" / "content" / "substance-use-safety"


class Command(BaseCommand):
    help = "Load the course content and enrol the demo learner and supervisor (idempotent)."

    def handle(self, *args, **options):
        report = services.load_course(path=COURSE_DIR)
        for line in report.summary_lines():
            self.stdout.write(line)
        if not report.version.is_reviewed:
            self.stdout.write(
                self.style.WARNING(
                    "The course is not yet medically reviewed: the demo shows it with a visible banner."
                )
            )
        due = selectors.local_today() + timedelta(days=30)
        for username in ("learner", "supervisor"):
            user = User.objects.filter(username=username).first()
            if user is None:
                continue
            enrollment, created = services.enroll(
                user=user, course=report.course, source=Enrollment.Source.MANUAL, due_date=due
            )
            if created:
                self.stdout.write(f"Enrolled {username} in {report.course.title} (due {due:%d %b %Y})")
