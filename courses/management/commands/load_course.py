from django.core.management.base import BaseCommand, CommandError

from courses.catalog.services import ContentError, load_course
from courses.enrollment.services import CourseError


class Command(BaseCommand):
    help = "Load a course from its content directory (idempotent; changed content makes a new version)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="e.g. courses/content/substance-use-safety")
        parser.add_argument(
            "--publish",
            action="store_true",
            help="Publish the loaded version (needs a medical review record).",
        )

    def handle(self, *args, path, publish, **options):
        try:
            report = load_course(path=path, publish=publish)
        except ContentError as exc:
            raise CommandError("The content has problems:\n- " + "\n- ".join(exc.problems)) from exc
        except CourseError as exc:
            raise CommandError(exc.message) from exc
        for line in report.summary_lines():
            self.stdout.write(line)
        if not report.version.is_reviewed:
            self.stdout.write(
                self.style.WARNING(
                    f"Version {report.version.number} is not yet medically reviewed: it stays a draft."
                )
            )
