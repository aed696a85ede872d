"""Celery tasks for generation: one queue per generator (Generator.queue_name).

A GPU worker serves one generator's queue and keeps its pipeline loaded between jobs:

    celery -A safesora worker -Q gen.<name> --concurrency 1 --prefetch-multiplier 1

See docs/workers.md. Without a broker (the embedded default) the same task runs in-process.
"""

import random
import time
from collections.abc import Iterator

from celery import shared_task
from django.conf import settings
from django.db.models import QuerySet

from . import runner
from .models import GenerationJob, Generator, JobState

BUSY_RECHECK_SECONDS = 60


def backoff_seconds(retries: int) -> float:
    """Exponential backoff with jitter, so workers that failed together do not retry together."""
    base = settings.GENERATION_RETRY_BACKOFF * 2 ** min(retries, 10)
    return min(base, 600) * random.uniform(0.8, 1.2)


@shared_task(bind=True, name="generation.run_jobs", acks_late=True, reject_on_worker_lost=True, max_retries=None)
def run_jobs(self, job_ids: list[int]) -> dict:
    """Run a batch of one generator's jobs. Jobs done already are skipped, so redelivery is safe."""
    report = runner.run_jobs(job_ids, worker_host=self.request.hostname or "", task_id=self.request.id or "")
    if self.request.is_eager:  # in-process (no broker): wait and retry right here
        retries = 0
        while report.retry:
            time.sleep(backoff_seconds(retries))
            retries += 1
            report = runner.run_jobs(report.retry, task_id=self.request.id or "")
        report.busy = []
    if report.retry or report.busy:
        # generation.jobs bounds the attempts: a job past GENERATION_MAX_ATTEMPTS is failed, not requeued.
        # A busy job is checked again later: if its worker dies, this message runs it.
        countdown = backoff_seconds(self.request.retries) if report.retry else BUSY_RECHECK_SECONDS
        raise self.retry(args=[report.retry + report.busy], countdown=countdown, exc=report.error)
    return {"succeeded": report.succeeded, "failed": report.failed, "skipped": report.skipped}


def batches(jobs: QuerySet, batch_size: int | None = None,
            states: tuple[str, ...] = (JobState.QUEUED,)) -> Iterator[tuple[str, list[int]]]:
    """(queue, job ids) per message: queued jobs of one generator (and one set of overrides), in chunks.

    The worker runs a chunk in one pipeline call where the family allows it, else one job after
    another; deciding that there keeps torch out of the processes that only enqueue.
    """
    size = max(1, batch_size or settings.GENERATION_BATCH_SIZE)
    current: dict[tuple, list[int]] = {}
    queues = {g.id: g.queue_name for g in Generator.objects.all()}
    rows = jobs.filter(state__in=states).order_by("generator_id", "id").values_list("id", "params", "generator_id")
    for job_id, params, generator_id in rows.iterator(chunk_size=2000):
        key = (queues[generator_id], repr(sorted(params.items())))
        chunk = current.setdefault(key, [])
        chunk.append(job_id)
        if len(chunk) >= size:
            yield key[0], current.pop(key)
    for (queue, _), chunk in current.items():
        yield queue, chunk


def enqueue(jobs: QuerySet, batch_size: int | None = None, on_sent=None) -> int:
    """Send the queued ones of these jobs to their generators' queues. Returns the number of jobs sent.

    In-process (no broker) each message runs as it is sent; on_sent(n) is told after each.
    Sending a job twice is harmless: the second delivery finds it done and skips it.
    """
    sent = 0
    for queue, job_ids in list(batches(jobs, batch_size)):
        result = run_jobs.apply_async(args=[job_ids], queue=queue)
        if not run_jobs.app.conf.task_always_eager:
            GenerationJob.objects.filter(id__in=job_ids, state=JobState.QUEUED).update(task_id=result.id)
        sent += len(job_ids)
        if on_sent:
            on_sent(len(job_ids))
    return sent
