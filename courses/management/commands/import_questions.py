from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from courses.catalog.exchange import services
from quizzes.models import Pool


class Command(BaseCommand):
    help = (
        "Import questions from GIFT, Moodle XML or CSV into a bank (all or nothing). Prints, per question, "
        "created, converted or refused with the reason. See docs/question-exchange.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--format", required=True, choices=sorted(services.FORMATS))
        parser.add_argument("--bank", required=True, help="bank key (new or existing)")
        parser.add_argument(
            "--course", default="", help="check objectives against this course's latest version"
        )
        parser.add_argument(
            "--objective", default="", help="objective for questions without an objective tag"
        )
        parser.add_argument("--source", default="", help="source for questions whose feedback names none")
        parser.add_argument("--pool", default=Pool.PRACTICE, choices=Pool.values)
        parser.add_argument("--dry-run", action="store_true", help="preview: write nothing")
        parser.add_argument(
            "--partial", action="store_true", help="import the accepted questions even if some are refused"
        )

    def handle(self, *args, **o):
        try:
            data = Path(o["file"]).read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {o['file']}: {exc.strerror}") from exc
        kwargs = {
            "fmt": o["format"],
            "bank_key": o["bank"],
            "course_slug": o["course"],
            "defaults": {"objective": o["objective"], "source": o["source"]},
        }
        try:
            if o["dry_run"]:
                report = services.plan_import(data, **kwargs)
            else:
                report = services.import_questions(data, partial=o["partial"], pool=o["pool"], **kwargs)
        except services.ImportRefused as exc:
            for line in exc.report.lines() if exc.report else []:
                self.stdout.write(line)
            raise CommandError(exc.message) from exc
        for line in report.lines():
            self.stdout.write(line)
        counts = {
            s: sum(1 for q in report.questions if q.status == s) for s in ("created", "converted", "refused")
        }
        summary = ", ".join(f"{n} {s}" for s, n in counts.items())
        banks = ", ".join(f"{k} ({len(v)})" for k, v in report.banks.items())
        if o["dry_run"]:
            self.stdout.write(f"Dry run, nothing written: {summary}; banks {banks or 'none'}")
            if report.refused and not o["partial"]:
                raise CommandError(f"{counts['refused']} question(s) would be refused")
        else:
            self.stdout.write(f"Imported: {summary}; banks {banks}")
