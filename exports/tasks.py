"""Celery tasks of the exports app (routed to the `cpu` queue by CELERY_TASK_ROUTES)."""

from celery import shared_task

from . import runs


@shared_task(name="exports.tasks.run_export")
def run_export(run_id: int) -> str:
    return runs.execute(run_id).state
