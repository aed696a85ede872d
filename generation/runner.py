"""Run generation jobs in this process: pipeline cache, batching, encoding, storing.

The Celery task (generation.tasks) and the in-process paths (the demo, `generate` without a
broker) both call run_jobs(). State changes go through generation.jobs.
"""

import gc
import logging
import socket
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from django.db import DatabaseError, InterfaceError, OperationalError

from . import jobs
from .encoding import VideoInfo, encode_mp4, file_sha256, poster_jpeg, to_uint8_frames
from .models import GenerationJob, Generator, JobState, Origin, Video
from .refiner import refine_prompt
from .storage import scratch_dir, store_bytes, store_file

log = logging.getLogger(__name__)


def _transient_errors() -> tuple[type[BaseException], ...]:
    """Errors worth retrying later: the database, the network, the object store."""
    errors: list[type[BaseException]] = [OperationalError, InterfaceError, ConnectionError, TimeoutError]
    try:
        from botocore.exceptions import BotoCoreError

        errors.append(BotoCoreError)
    except ImportError:  # boto3 is only there with django-storages[s3]
        pass
    return tuple(errors)


TRANSIENT_ERRORS = _transient_errors()


def _is_cuda_oom(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.cuda.OutOfMemoryError)


def _free_accelerator_memory() -> None:
    gc.collect()
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


class PipelineCache:
    """The pipelines this process has loaded, so a worker loads its model once, not once per job.

    Holds `size` pipelines (one by default: a GPU holds one large model). A generator that ran out
    of GPU memory here is reloaded with the memory switches on and stays so in this process.
    """

    def __init__(self, size: int = 1):
        self.size = size
        self._pipes: OrderedDict[tuple, object] = OrderedDict()
        self.low_memory: set[int] = set()
        self.loads = 0

    @staticmethod
    def key(generator: Generator, low_memory: bool) -> tuple:
        # Any change to what the pipeline is built from makes a new entry.
        return (generator.pk, generator.family, generator.pipeline_class, generator.checkpoint, generator.dtype,
                repr(sorted(generator.memory_options.items())), low_memory)

    def get(self, generator: Generator) -> object:
        from .pipelines import OOM_FALLBACK, load_pipeline

        low_memory = generator.pk in self.low_memory
        key = self.key(generator, low_memory)
        if key in self._pipes:
            self._pipes.move_to_end(key)
            return self._pipes[key]
        while len(self._pipes) >= self.size:
            self._pipes.popitem(last=False)
            _free_accelerator_memory()
        started = time.perf_counter()
        pipe = load_pipeline(generator, memory_options={**generator.memory_options, **OOM_FALLBACK}
                             if low_memory else None)
        self.loads += 1
        log.info("loaded pipeline for %s%s in %.1f s", generator.name, " (memory switches on)" if low_memory else "",
                 time.perf_counter() - started)
        self._pipes[key] = pipe
        return pipe

    def switch_to_low_memory(self, generator: Generator) -> bool:
        """After an out-of-memory error. False when the switches were on already."""
        if generator.pk in self.low_memory:
            return False
        self.low_memory.add(generator.pk)
        self.clear()
        return True

    def clear(self) -> None:
        self._pipes.clear()
        _free_accelerator_memory()


# One per process: a Celery worker child keeps its pipeline between tasks.
pipeline_cache = PipelineCache()


def supports_batch(generator: Generator) -> bool:
    from .pipelines import FAMILIES

    return bool(getattr(FAMILIES[generator.family], "SUPPORTS_BATCH", False))


@dataclass
class RunReport:
    succeeded: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)  # requeued after a transient error
    skipped: list[int] = field(default_factory=list)  # done already, or cancelled
    busy: list[int] = field(default_factory=list)  # being run by another live worker: check again later
    error: BaseException | None = None


def run_jobs(job_ids: list[int], *, worker_host: str = "", task_id: str = "",
             cache: PipelineCache | None = None) -> RunReport:
    """Claim and run these jobs (one generator's, as enqueued), batching where the family allows it."""
    cache = cache or pipeline_cache
    worker_host = worker_host or socket.gethostname()
    report = RunReport()
    claimed: list[GenerationJob] = []
    try:
        for job_id in job_ids:
            try:
                job = jobs.claim(job_id, worker_host=worker_host, task_id=task_id)
            except jobs.Busy:
                report.busy.append(job_id)
                continue
            if job is None:
                report.skipped.append(job_id)
                continue
            claimed.append(job)
            if jobs.adopt_existing_video(job):
                report.succeeded.append(job.id)
        todo = [job for job in claimed if job.id not in report.succeeded]
        for group in _groups(todo):
            _run_group(group, cache, report)
    except TRANSIENT_ERRORS as exc:
        report.error = exc
        message = f"{type(exc).__name__}: {exc}"
        log.warning("transient error in jobs %s, will retry: %s", job_ids, message)
        remaining = _unfinished(claimed, report)
        try:
            report.retry = jobs.requeue(remaining, message)
        except DatabaseError:
            # The database is away: leave the jobs `running`. The retried message claims them again.
            report.retry = remaining
    except Exception as exc:
        report.error = exc
        log.exception("jobs %s failed", job_ids)
        remaining = _unfinished(claimed, report)
        jobs.fail(remaining, f"{type(exc).__name__}: {exc}")
        report.failed += remaining
    finally:
        try:
            jobs.release(claimed)
        except DatabaseError:
            pass  # the locks went with the connection
    return report


def _unfinished(claimed: list[GenerationJob], report: RunReport) -> list[int]:
    done = set(report.succeeded + report.failed + report.skipped)
    return [job.id for job in claimed if job.id not in done]


def _groups(claimed: list[GenerationJob]) -> list[list[GenerationJob]]:
    """Jobs that can share a pipeline call: same generator, same parameter overrides."""
    groups: dict[tuple, list[GenerationJob]] = {}
    for job in claimed:
        groups.setdefault((job.generator_id, repr(sorted(job.params.items()))), []).append(job)
    return list(groups.values())


def _run_group(group: list[GenerationJob], cache: PipelineCache, report: RunReport) -> None:
    generator = group[0].generator
    batches = [group] if supports_batch(generator) else [[job] for job in group]
    for batch in batches:
        # Drop jobs cancelled since they were claimed.
        running = set(GenerationJob.objects.filter(id__in=[j.id for j in batch], state=JobState.RUNNING)
                      .values_list("id", flat=True))
        report.skipped += [j.id for j in batch if j.id not in running]
        batch = [j for j in batch if j.id in running]
        if not batch:
            continue
        texts = [refine_prompt(job.prompt.text) for job in batch]
        try:
            outputs, seconds = _generate(cache, generator, batch, texts)
        except Exception as exc:
            if not _is_cuda_oom(exc):
                raise
            _free_accelerator_memory()
            if not cache.switch_to_low_memory(generator):
                _fail_oom(batch, generator, report)
                continue
            log.warning("CUDA out of memory for %s: retrying with the memory switches on", generator.name)
            for job, text in zip(batch, texts, strict=True):
                try:
                    outputs, seconds = _generate(cache, generator, [job], [text])
                except Exception as again:
                    if not _is_cuda_oom(again):
                        raise
                    _free_accelerator_memory()
                    _fail_oom([job], generator, report)
                    continue
                _store(job, outputs[0], text, seconds, report)
            continue
        for job, frames, text in zip(batch, outputs, texts, strict=True):
            _store(job, frames, text, seconds / len(batch), report)


def _generate(cache: PipelineCache, generator: Generator, batch: list[GenerationJob], texts: list[str]):
    from .pipelines import generate_frames

    pipe = cache.get(generator)
    started = time.perf_counter()
    outputs = generate_frames(pipe, generator, texts, [job.seed for job in batch], batch[0].params or None)
    return outputs, time.perf_counter() - started


def _fail_oom(batch: list[GenerationJob], generator: Generator, report: RunReport) -> None:
    import torch

    from .pipelines import OOM_FALLBACK

    gpu = ""
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(torch.cuda.current_device())
        gpu = f" on {props.name} ({props.total_memory / 2**30:.0f} GiB)"
    message = (f"CUDA out of memory{gpu}, even after retrying with the memory switches on "
               f"({', '.join(OOM_FALLBACK)}). Lower {generator.name}'s frames or resolution, "
               "or run its queue on a GPU with more memory.")
    jobs.fail([job.id for job in batch], message)
    report.failed += [job.id for job in batch]


def _store(job: GenerationJob, frames, video_text: str, pipeline_seconds: float, report: RunReport) -> None:
    """Encode one job's frames, store video and poster, and mark the job succeeded."""
    frames = to_uint8_frames(frames)
    fps = float((job.params or {}).get("fps", job.generator.fps))
    video = Video(id=jobs.video_id_for(job), prompt_id=job.prompt_id, generator=job.generator,
                  video_text=video_text, seed=job.seed, origin=Origin.GENERATED)
    with scratch_dir() as tmp:
        path = Path(tmp) / f"{video.id}.mp4"
        encode_mp4(frames, fps, path)
        info = describe(frames, fps, path)
        store_file(video.file, path)
    store_bytes(video.poster, poster_jpeg(frames), "poster.jpg")
    set_info(video, info)
    if jobs.succeed(job, video, pipeline_seconds=pipeline_seconds):
        report.succeeded.append(job.id)  # Video.save announced it to screening
    else:  # cancelled while it ran
        video.file.delete(save=False)
        video.poster.delete(save=False)
        report.skipped.append(job.id)


def describe(frames, fps: float, path: Path) -> VideoInfo:
    """The metadata of a file encode_mp4 just wrote from these frames (no need to decode it again)."""
    count, height, width = frames.shape[0], frames.shape[1] - frames.shape[1] % 2, frames.shape[2] - frames.shape[2] % 2
    return VideoInfo(fps=fps, num_frames=count, width=width, height=height, duration=count / fps,
                     sha256=file_sha256(path), size_bytes=path.stat().st_size)


def set_info(video: Video, info: VideoInfo) -> None:
    video.fps, video.num_frames, video.width, video.height = info.fps, info.num_frames, info.width, info.height
    video.duration, video.sha256, video.size_bytes = info.duration, info.sha256, info.size_bytes
