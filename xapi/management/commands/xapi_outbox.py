from django.core.management.base import BaseCommand
from django.db.models import Count, Min

from xapi import config, sender
from xapi.models import OutboxStatement


class Command(BaseCommand):
    help = "Show the xAPI outbox (pending, sent, rejected); --send sends pending statements now."

    def add_arguments(self, parser):
        parser.add_argument("--send", action="store_true", help="send now, even during a backoff window")

    def handle(self, *args, **options):
        if not config.enabled():
            self.stdout.write("xAPI is off (XAPI_LRS_ENDPOINT is not set).")
        if options["send"] and config.enabled():
            while True:
                report = sender.send_pending(force=True)
                self.stdout.write(f"sent {report.sent}, rejected {report.rejected}")
                if report.failed:
                    self.stderr.write(f"the LRS did not take them: {report.error}")
                    break
                if not report.remaining:
                    break
        rows = OutboxStatement.objects.values("status").annotate(n=Count("pk"), oldest=Min("created_at"))
        for row in rows.order_by("status"):
            self.stdout.write(f"{row['status']}: {row['n']} (oldest {row['oldest']:%Y-%m-%d %H:%M} UTC)")
        last = (
            OutboxStatement.objects.filter(status=OutboxStatement.Status.PENDING)
            .exclude(last_error="")
            .last()
        )
        if last is not None:
            self.stdout.write(f"last error: {last.last_error[:300]}")
