from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from courses.catalog.exchange import export, gift, moodle_xml
from quizzes.models import QuestionBank

WRITERS = {"gift": gift.write, "moodle-xml": moodle_xml.write}


class Command(BaseCommand):
    help = "Export a bank's current questions as GIFT or Moodle XML for Moodle's question import."

    def add_arguments(self, parser):
        parser.add_argument("--bank", required=True)
        parser.add_argument("--format", required=True, choices=sorted(WRITERS))
        parser.add_argument("--out", required=True)

    def handle(self, *args, bank, format, out, **options):  # noqa: A002 - the option's name
        row = QuestionBank.objects.filter(key=bank).first()
        if row is None:
            raise CommandError(f"no bank {bank!r}")
        text, skipped = WRITERS[format](export.bank_specs(row), category=row.title)
        try:
            Path(out).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot write {out}: {exc.strerror}") from exc
        for line in skipped:
            self.stdout.write(f"skipped {line}")
        total = row.questions.filter(is_current=True, parent__isnull=True).count()
        self.stdout.write(f"Wrote {total - len(skipped)} of {total} question(s) of {bank} to {out}")
