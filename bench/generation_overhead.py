"""Platform overhead per generation job: everything but the pipeline call (queueing, the pipeline cache,
encoding, storing, the database), on the tiny Wan pipeline, as a share of its pipeline call.

Two measurements, each over --jobs jobs sent one per message after a warm-up job:
- in-process: generation.runner.run_jobs, as the demo and `generate` without a broker run;
- worker: a real `celery -A safesora worker` process on Redis, timed from enqueue to the job's
  `succeeded` row, as production runs.
The encode of the tiny clip is timed on its own and reported separately; the target is overhead
excluding the encode under 200 ms per job. Both are quoted as a share of a real pipeline call
(CogVideoX-2B: about 90 s per video on an A100); bench/encode_speed.py has the real-size encode.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/safesora REDIS_URL=redis://127.0.0.1:6379/0 \\
        python bench/generation_overhead.py [--jobs 20]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from common import ROOT, Timer, scratch_database, setup_django, write_result

REAL_PIPELINE_SECONDS = 90.0


def database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.005)


def make_jobs(generator, count: int, seed: int):
    from generation import jobs
    from generation.models import Prompt

    prompts = [Prompt.objects.create(text=f"overhead benchmark prompt {seed}-{i}", prompt_type="safety_neutral")
               for i in range(count)]
    return list(jobs.create_jobs(prompts, [generator], [seed]).order_by("id"))


def in_process(generator, count: int) -> dict:
    from generation.models import GenerationJob
    from generation.runner import run_jobs

    run_jobs([make_jobs(generator, 1, 0)[0].id])  # warm-up: loads the pipeline into the cache
    walls = []
    for job in make_jobs(generator, count, 1):
        with Timer() as t:
            report = run_jobs([job.id])
        assert report.succeeded == [job.id], report
        walls.append(t.seconds)
    pipeline = list(GenerationJob.objects.filter(seed=1).values_list("pipeline_seconds", flat=True))
    return {"wall": statistics.mean(walls), "pipeline": statistics.mean(pipeline)}


def with_worker(generator, count: int, redis_url: str, media: Path) -> dict:
    import redis

    from generation.models import GenerationJob, JobState
    from generation.tasks import run_jobs

    redis.Redis.from_url(redis_url).flushdb()
    app = run_jobs.app
    app.conf.broker_url, app.conf.task_always_eager = redis_url, False
    app._pool = None  # connections cached for the settings' broker, if any, are not this one's
    app.amqp._producer_pool = None
    env = {**os.environ, "DATABASE_URL": database_url(), "CELERY_BROKER_URL": redis_url, "MEDIA_ROOT": str(media),
           "OMP_NUM_THREADS": "1", "LOG_LEVEL": "WARNING"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "safesora", "worker", "-Q", generator.queue_name, "--concurrency",
         "1", "--prefetch-multiplier", "1", "-n", f"bench-{uuid.uuid4().hex[:6]}@%h", "--without-gossip",
         "--without-mingle", "--without-heartbeat"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        def finished(job_id):
            return lambda: GenerationJob.objects.filter(id=job_id, state=JobState.SUCCEEDED).exists()

        warm = make_jobs(generator, 1, 2)[0]
        run_jobs.apply_async(args=[[warm.id]], queue=generator.queue_name)
        wait_until(finished(warm.id), 300, "the worker's warm-up job")
        walls = []
        for job in make_jobs(generator, count, 3):
            with Timer() as t:
                run_jobs.apply_async(args=[[job.id]], queue=generator.queue_name)
                wait_until(finished(job.id), 120, f"job {job.id}")
            walls.append(t.seconds)
    finally:
        worker.terminate()
        worker.wait(30)
        app.pool.force_close_all()
    pipeline = list(GenerationJob.objects.filter(seed=3).values_list("pipeline_seconds", flat=True))
    return {"wall": statistics.mean(walls), "pipeline": statistics.mean(pipeline)}


def encode_seconds(generator, repeats: int = 20) -> float:
    from generation.encoding import encode_mp4, file_sha256, poster_jpeg
    from generation.pipelines import generate_frames, load_pipeline

    frames = generate_frames(load_pipeline(generator), generator, ["a clip to encode"], [0])[0]
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            with Timer() as t:
                encode_mp4(frames, generator.fps, Path(tmp) / f"{i}.mp4")
                poster_jpeg(frames)
                file_sha256(Path(tmp) / f"{i}.mp4")
            times.append(t.seconds)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL") or os.environ.get("TEST_REDIS_URL")
                        or "redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory() as media:
        os.environ["MEDIA_ROOT"] = media
        setup_django()
        from django.core.management import call_command

        from generation.models import Generator

        with scratch_database():
            call_command("register_generators", tiny_only=True, verbosity=0)
            generator = Generator.objects.get(name="tiny-wan")
            encode = encode_seconds(generator)
            local = in_process(generator, args.jobs)
            remote = with_worker(generator, args.jobs, args.redis, Path(media))
    figures = {"generator": f"tiny-wan ({generator.num_frames} frames of {generator.height}x{generator.width})",
               "jobs": args.jobs, "tiny_encode_ms": round(encode * 1000, 1)}
    for name, run in (("in_process", local), ("worker", remote)):
        overhead = run["wall"] - run["pipeline"]
        figures |= {
            f"{name}_pipeline_call_ms": round(run["pipeline"] * 1000, 1),
            f"{name}_overhead_ms": round(overhead * 1000, 1),
            f"{name}_overhead_excluding_encode_ms": round((overhead - encode) * 1000, 1),
            f"{name}_overhead_share_of_tiny_pipeline_call": f"{overhead / run['pipeline'] * 100:.0f}%",
            f"{name}_overhead_excluding_encode_share_of_90s_pipeline":
                f"{(overhead - encode) / REAL_PIPELINE_SECONDS * 100:.3f}%",
        }
    figures["target_overhead_excluding_encode_under_200ms"] = (
        figures["worker_overhead_excluding_encode_ms"] < 200)
    write_result("generation_overhead", figures)


if __name__ == "__main__":
    main()
