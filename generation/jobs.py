"""The generation job state machine: the one layer that changes GenerationJob state.

    queued --claim--> running --succeed--> succeeded
                         |---requeue---> queued      (transient error; retried with backoff)
                         |---fail------> failed
    queued, running --cancel--> cancelled
    failed, cancelled --retry--> queued

A job found `running` when a worker claims it was redelivered after its previous worker died
(Celery's late acks put the message back): it is claimed again and runs again. On PostgreSQL
the running worker also holds an advisory lock on the job for as long as it lives, so a
duplicate delivery while that worker is alive is refused instead of run twice. A succeeded job
is never claimed, and the job's Video is created in the same transaction that marks it
succeeded, so a job yields exactly one Video.
"""

from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from .models import GenerationJob, Generator, JobState, Prompt, Video, stable_id

ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING)
FINAL_STATES = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)
# Namespace for the advisory lock keys, so they never collide with another use of advisory locks.
_LOCK_NAMESPACE = 0x5AFE << 48


def video_id_for(job: GenerationJob) -> str:
    """The id of the video a job makes: stable, so re-running a job can never make a second one."""
    return stable_id("video", job.prompt_id, job.generator.name, job.seed)


def create_jobs(prompts: Iterable[Prompt] | QuerySet, generators: Sequence[Generator], seeds: Sequence[int],
                params: dict | None = None) -> QuerySet:
    """Jobs for every prompt x generator x seed. Existing ones are kept as they are (idempotent).

    Returns all the jobs asked for, new and old.
    """
    prompt_ids = list(prompts.values_list("id", flat=True)) if isinstance(prompts, QuerySet) \
        else [p.id for p in prompts]
    new = [GenerationJob(prompt_id=prompt_id, generator=generator, seed=seed, params=params or {})
           for prompt_id in prompt_ids for generator in generators for seed in seeds]
    GenerationJob.objects.bulk_create(new, batch_size=5000, ignore_conflicts=True)
    return GenerationJob.objects.filter(prompt_id__in=prompt_ids, generator__in=generators, seed__in=seeds)


def _try_lock(job_id: int) -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite runs jobs in-process only: there is no second worker to exclude
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_LOCK_NAMESPACE + job_id])
        return cursor.fetchone()[0]


def _unlock(job_id: int) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_NAMESPACE + job_id])


class Busy(Exception):
    """Another worker, still alive, is running this job."""


def claim(job_id: int, *, worker_host: str = "", task_id: str = "") -> GenerationJob | None:
    """Take a job to run it. Returns it (now `running`), or None when it is finished, cancelled or gone.

    Raises Busy when another live worker runs it (check again later: that worker may still die).
    A job that has used up its attempts (its worker died each time) is failed here.
    Call release() when done with a claimed job.
    """
    if not _try_lock(job_id):
        if GenerationJob.objects.filter(id=job_id, state__in=ACTIVE_STATES).exists():
            raise Busy(job_id)
        return None
    max_attempts = settings.GENERATION_MAX_ATTEMPTS
    gave_up = GenerationJob.objects.filter(id=job_id, state=JobState.RUNNING, attempts__gte=max_attempts).update(
        state=JobState.FAILED, finished_at=timezone.now(),
        error=f"Gave up after {max_attempts} attempts: the worker running this job died each time "
              "(killed, out of host memory, or crashed).")
    won = not gave_up and GenerationJob.objects.filter(id=job_id, state__in=ACTIVE_STATES).update(
        state=JobState.RUNNING, attempts=F("attempts") + 1, started_at=timezone.now(), finished_at=None,
        worker_host=worker_host[:200], task_id=task_id[:64] or F("task_id"))
    if not won:
        _unlock(job_id)
        return None
    return GenerationJob.objects.select_related("prompt", "generator").get(id=job_id)


def release(jobs: Iterable[GenerationJob]) -> None:
    """Give up the claims taken by claim() (whatever state the jobs ended in)."""
    for job in jobs:
        _unlock(job.id)


def succeed(job: GenerationJob, video: Video, *, pipeline_seconds: float) -> bool:
    """Save the job's video and mark the job succeeded, in one transaction.

    Returns False (and saves nothing) when the job is no longer running, e.g. it was cancelled
    while it ran; the caller then removes the files it stored.
    """
    now = timezone.now()
    with transaction.atomic():
        done = GenerationJob.objects.filter(id=job.id, state=JobState.RUNNING).update(
            state=JobState.SUCCEEDED, finished_at=now, error="", pipeline_seconds=pipeline_seconds,
            total_seconds=(now - job.started_at).total_seconds() if job.started_at else None)
        if not done:
            return False
        video.job_id = job.id
        video.save(force_insert=True)
    job.state = JobState.SUCCEEDED
    return True


def adopt_existing_video(job: GenerationJob) -> bool:
    """Mark a running job succeeded when its video already exists (e.g. the job row was re-created)."""
    with transaction.atomic():
        video = Video.objects.select_for_update().filter(id=video_id_for(job)).first()
        if video is None:
            return False
        done = GenerationJob.objects.filter(id=job.id, state=JobState.RUNNING).update(
            state=JobState.SUCCEEDED, finished_at=timezone.now(), error="")
        if done and video.job_id is None:
            Video.objects.filter(id=video.id).update(job_id=job.id)
    return bool(done)


def requeue(job_ids: Iterable[int], error: str) -> list[int]:
    """After a transient error: running jobs back to queued, or failed once they used up their attempts.

    Returns the ids put back in the queue, for the caller to retry later.
    """
    job_ids = list(job_ids)
    running = GenerationJob.objects.filter(id__in=job_ids, state=JobState.RUNNING)
    max_attempts = settings.GENERATION_MAX_ATTEMPTS
    running.filter(attempts__gte=max_attempts).update(
        state=JobState.FAILED, finished_at=timezone.now(),
        error=f"Gave up after {max_attempts} attempts. Last error: {error}"[:10000])
    again = list(running.values_list("id", flat=True))
    GenerationJob.objects.filter(id__in=again, state=JobState.RUNNING).update(state=JobState.QUEUED,
                                                                              error=error[:10000])
    return again


def fail(job_ids: Iterable[int], error: str) -> int:
    return GenerationJob.objects.filter(id__in=list(job_ids), state=JobState.RUNNING).update(
        state=JobState.FAILED, error=error[:10000], finished_at=timezone.now())


def cancel(jobs: QuerySet) -> int:
    """Cancel queued or running jobs. A running one finishes its pipeline call, and its output is dropped."""
    return jobs.filter(state__in=ACTIVE_STATES).update(state=JobState.CANCELLED, finished_at=timezone.now())


def retry(jobs: QuerySet) -> list[int]:
    """Failed or cancelled jobs back to queued. Returns their ids, for the caller to enqueue."""
    ids = list(jobs.filter(state__in=(JobState.FAILED, JobState.CANCELLED)).values_list("id", flat=True))
    GenerationJob.objects.filter(id__in=ids, state__in=(JobState.FAILED, JobState.CANCELLED)).update(
        state=JobState.QUEUED, error="", finished_at=None)
    return ids
