"""Celery tasks of reports and exports (registered names stay `courses.tasks.*`)."""

from celery import shared_task


@shared_task(name="courses.tasks.run_export", acks_late=True)
def run_export(job_id: int) -> int:
    from courses.reports import exports

    return exports.run_export(job_id=job_id)
