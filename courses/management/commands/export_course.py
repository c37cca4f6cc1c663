from django.core.management.base import BaseCommand, CommandError

from courses.catalog.exchange.course_folder import write_course_folder
from courses.models import CourseVersion


class Command(BaseCommand):
    help = "Write a course version as a content folder (courses/content/FORMAT.md) under DIR/<slug>/."

    def create_parser(self, prog_name, subcommand, **kwargs):
        # The interface is `--version N`; Django's own --version (print Django's) gives way.
        kwargs.setdefault("conflict_handler", "resolve")
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--version", type=int, help="version number (default: the latest)")
        parser.add_argument("--out", required=True)

    def handle(self, *args, slug, version, out, **options):
        versions = CourseVersion.objects.filter(course__slug=slug).order_by("-number")
        row = versions.filter(number=version).first() if version else versions.first()
        if row is None:
            raise CommandError(f"no version {version} of {slug}" if version else f"no course {slug!r}")
        if row.pk != versions.first().pk:
            self.stdout.write(
                self.style.WARNING("an older version: its banks are written with their current questions")
            )
        try:
            root = write_course_folder(row, out)
        except OSError as exc:
            raise CommandError(f"cannot write {out}: {exc.strerror}") from exc
        self.stdout.write(f"Wrote {slug} version {row.number} to {root}")
