from celery import shared_task


@shared_task
def purge_expired_tokens() -> int:
    """Expired API tokens are refused at once; this only removes their rows (hourly)."""
    from .tokens import purge_expired_tokens as purge

    return purge()
