from django.db import models
from django.db.models import Q


class OutboxStatement(models.Model):
    """One xAPI statement, written in the same transaction as the event it reports and sent to the LRS
    later (xapi.sender). `statement_id` is derived from the event (xapi.statements.statement_id), so
    recording the same event twice stores one row, and sending a row twice stores one statement in
    the LRS (an LRS keeps the first of two equal statements with one id)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        REJECTED = "rejected", "Rejected"  # refused by the LRS: kept with its answer, not retried

    statement_id = models.UUIDField(unique=True)
    verb = models.CharField(max_length=20, help_text="Short verb name, for the admin and logs.")
    user_id = models.BigIntegerField(db_index=True, help_text="Whose statement (for erasure and support).")
    payload = models.JSONField(help_text="The statement exactly as it is sent.")
    created_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    sent_at = models.DateTimeField(null=True, blank=True)
    send_attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [
            # The sender's one query: pending rows, oldest first.
            models.Index(fields=["id"], condition=Q(status="pending"), name="xapi_outbox_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.verb} {self.statement_id} ({self.status})"
