from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from courses.assignments.services import import_staff


class Command(BaseCommand):
    help = "Import staff from CSV. Without --commit it is a dry run that shows what would change."

    def add_arguments(self, parser):
        parser.add_argument("csv_path")
        parser.add_argument("--commit", action="store_true", help="Write the changes (all rows or none).")

    def handle(self, *args, csv_path, commit, **options):
        try:
            text = Path(csv_path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {csv_path}: {exc}") from exc
        report = import_staff(text=text, commit=commit)
        for error in report.file_errors:
            self.stderr.write(error)
        for row in report.rows:
            if row.errors:
                self.stderr.write(f"line {row.line} ({row.employee_id or 'no id'}): " + "; ".join(row.errors))
            elif row.action != "unchanged":
                self.stdout.write(f"line {row.line}: {row.action} {row.employee_id} {sorted(row.changes)}")
        counts = report.counts
        self.stdout.write(
            f"{counts['create']} to create, {counts['update']} to update, "
            f"{counts['unchanged']} unchanged, {counts['errors']} with errors"
        )
        if not report.ok:
            raise CommandError("Nothing was imported: fix the errors above and run again.")
        self.stdout.write("Imported." if report.committed else "Dry run: nothing written (add --commit).")
