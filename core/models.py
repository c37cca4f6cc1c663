from django.db import models


class WorkerHeartbeat(models.Model):
    """Written by a periodic task, so /readyz and operators can see that workers and beat are alive."""

    worker = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.worker} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"
