from django.core.management.base import BaseCommand

from core.audit import checkpoint_path, publish_checkpoint


class Command(BaseCommand):
    help = "Publish a signed checkpoint of the audit chain outside the database (beat does it on a schedule)."

    def handle(self, *args, **options):
        entry = publish_checkpoint()
        if entry is None:
            self.stdout.write(
                f"no new events since the last checkpoint ({checkpoint_path() or 'no checkpoint folder'})"
            )
            return
        self.stdout.write(
            f"checkpoint: {entry['events']} events, head #{entry['last_id']} {entry['last_hash']} -> {checkpoint_path()}"
        )
