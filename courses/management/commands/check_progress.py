from django.core.management.base import BaseCommand

from courses.enrollment import selectors
from courses.models import Enrollment


class Command(BaseCommand):
    help = (
        "Recompute every enrollment's progress from raw records and report differences from what is stored."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--fix", action="store_true", help="Store the recomputed progress where it differs."
        )

    def handle(self, *args, fix: bool, **options):
        differences = 0
        checked = 0
        for enrollment in Enrollment.objects.select_related("version", "user", "course").iterator(
            chunk_size=500
        ):
            checked += 1
            stored = selectors.stored_progress(enrollment)
            actual = selectors.compute_progress(enrollment)
            completed = enrollment.status == Enrollment.Status.COMPLETED
            if (
                stored != actual
                or (actual.complete and enrollment.status in ("not_started", "in_progress"))
                or (completed and not actual.complete)
            ):
                differences += 1
                self.stdout.write(
                    f"enrollment {enrollment.pk} ({enrollment.user}, {enrollment.course.slug}): "
                    f"stored {stored}, recomputed {actual}, status {enrollment.status}"
                )
                if fix:
                    from courses.enrollment.services import recompute_progress

                    recompute_progress(enrollment_id=enrollment.pk)
        self.stdout.write(f"{checked} enrollments checked, {differences} differences")
        if differences and not fix:
            raise SystemExit(1)
