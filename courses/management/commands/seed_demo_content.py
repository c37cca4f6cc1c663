import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.models import User
from courses.catalog import services
from courses.demo import seed_demo_team
from courses.enrollment import selectors
from courses.enrollment import services as enrollment_services
from courses.models import Enrollment

COURSE_DIR = Path(settings.BASE_DIR) / "courses" / "content" / "substance-use-safety"


class Command(BaseCommand):
    help = (
        "Load the course content, enrol the demo learner and supervisor, and build the demo team "
        "(24 fictitious staff with histories; courses/demo.py) once (idempotent)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-team", action="store_true", help="Skip the demo team.")

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
            enrollment, created = enrollment_services.enroll(
                user=user, course=report.course, source=Enrollment.Source.MANUAL, due_date=due
            )
            if created:
                self.stdout.write(f"Enrolled {username} in {report.course.title} (due {due:%d %b %Y})")
        learner = User.objects.filter(username="learner").first()
        if options["no_team"] or learner is None or not User.objects.filter(username="supervisor").exists():
            return
        started = time.monotonic()
        # The team logs in with the demo password (the learner's hash, computed once).
        team = seed_demo_team(course=report.course, password_hash=learner.password)
        if team.created:
            self.stdout.write(
                f"Demo team: {team.people} staff in three departments, {team.attempts} quiz attempts, "
                f"{team.certificates} certificates ({time.monotonic() - started:.1f} s; log in as e.g. "
                "demo.rivera with the demo password)"
            )
