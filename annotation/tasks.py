from celery import shared_task

from . import assignment


@shared_task(name="annotation.tasks.release_expired_leases", ignore_result=True)
def release_expired_leases() -> int:
    """Give the slots of expired leases back to the pool (also done lazily by claims)."""
    return assignment.release_expired_leases()
