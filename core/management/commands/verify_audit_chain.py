from django.core.management.base import BaseCommand

from core.audit import verify_chain


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; report the first broken link (exit 1 when broken)."

    def handle(self, *args, **options):
        result = verify_chain()
        if result.ok:
            self.stdout.write(self.style.SUCCESS(result.message))
            return
        self.stderr.write(result.message)
        raise SystemExit(1)
