import json

from django.conf import settings
from django.core.management.base import BaseCommand
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask


class Command(BaseCommand):
    help = "Store the periodic tasks of settings.CELERY_BEAT_SCHEDULE in django-celery-beat (idempotent)."

    def handle(self, *args, **options):
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
            schedule = entry["schedule"]
            fields = {
                "task": entry["task"],
                "args": json.dumps(entry.get("args", [])),
                "enabled": True,
                "interval": None,
                "crontab": None,
            }
            if isinstance(schedule, int | float):
                fields["interval"], _ = IntervalSchedule.objects.get_or_create(
                    every=int(schedule), period=IntervalSchedule.SECONDS
                )
            else:
                fields["crontab"], _ = CrontabSchedule.objects.get_or_create(
                    minute=" ".join(sorted(map(str, schedule.minute))),
                    hour=" ".join(sorted(map(str, schedule.hour))),
                    day_of_week="*",
                    day_of_month="*",
                    month_of_year="*",
                    timezone=settings.TIME_ZONE,
                )
            task, created = PeriodicTask.objects.update_or_create(name=name, defaults=fields)
            self.stdout.write(f"{'created' if created else 'updated'}: {name} -> {entry['task']}")
