"""Generation without a broker (the embedded default): `generate` runs the tiny pipelines in-process."""

import av
import pytest
import torch
from celery import shared_task
from django.core.management import call_command
from django.core.management.base import CommandError

from generation import jobs
from generation.models import GenerationJob, Generator, Video
from generation.pipelines import load_pipeline
from generation.runner import PipelineCache, run_jobs
from tests.factories import make_prompt

pytestmark = pytest.mark.django_db

CREATED: list[str] = []


@shared_task(name="tests.remember_new_video")
def remember_new_video(video_id: str) -> None:
    CREATED.append(video_id)


@pytest.fixture
def tiny_wan():
    call_command("register_generators", tiny_only=True, verbosity=0)
    return Generator.objects.get(name="tiny-wan")


def test_generate_runs_in_process_and_is_idempotent(tiny_wan, media_root, capsys, settings,
                                                   django_capture_on_commit_callbacks):
    settings.VIDEO_CREATED_TASKS = ["tests.remember_new_video"]
    CREATED.clear()
    prompts = [make_prompt(source="batch-1") for _ in range(2)]
    make_prompt(source="other")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("generate", "--source", "batch-1", "--generators", "tiny-wan", "--seeds", "2")
    out = capsys.readouterr()
    assert "4 jobs on tiny-wan: 4 to run, 0 finished already" in out.out and "4 succeeded" in out.out
    assert "4/4" in out.err  # the progress bar
    videos = Video.objects.filter(prompt__in=prompts)
    assert videos.count() == 4 and Video.objects.count() == 4
    assert sorted(CREATED) == sorted(videos.values_list("id", flat=True))  # screening hook, once per video
    for video in videos:
        with av.open(str(media_root / video.file.name)) as container:
            assert sum(1 for _ in container.decode(video=0)) == tiny_wan.num_frames
    call_command("generate", "--source", "batch-1", "--generators", "tiny-wan", "--seeds", "2")
    assert "0 to run, 4 finished already" in capsys.readouterr().out
    assert GenerationJob.objects.get(prompt=prompts[0], seed=0).attempts == 1


def test_generate_explains_bad_arguments(tiny_wan):
    make_prompt()
    with pytest.raises(CommandError, match=r"Unknown generator\(s\): nope \(known: .*tiny-wan"):
        call_command("generate", "--prompts", "all", "--generators", "nope")
    with pytest.raises(CommandError, match="Say which prompts"):
        call_command("generate", "--generators", "tiny-wan")
    with pytest.raises(CommandError, match=r"Unknown prompt id\(s\): abc"):
        call_command("generate", "--prompts", "abc", "--generators", "tiny-wan")


def test_a_bad_job_fails_with_its_reason_and_can_be_retried(tiny_wan, capsys):
    prompt = make_prompt()
    bad = jobs.create_jobs([prompt], [tiny_wan], [0], params={"num_frames": 4}).get()  # Wan needs 4k+1 frames
    with pytest.raises(CommandError, match="1 jobs failed"):
        call_command("generate", "--generators", "tiny-wan", "--queued")
    bad.refresh_from_db()
    assert bad.state == "failed" and "1 + a multiple of 4 frames" in bad.error
    assert "1 + a multiple of 4 frames" in capsys.readouterr().err
    GenerationJob.objects.filter(id=bad.id).update(params={"num_frames": 5})
    call_command("generate", "--prompts", prompt.id, "--generators", "tiny-wan", "--retry-failed")
    bad.refresh_from_db()
    assert (bad.state, bad.attempts) == ("succeeded", 2)


class GpuTooSmall(PipelineCache):
    """Stands in for a GPU that runs out of memory (CUDA cannot run on this machine): the real tiny
    pipeline, whose calls raise CUDA's out-of-memory error unless the memory switches are on and fit."""

    def __init__(self, fits_with_switches: bool):
        super().__init__()
        self.fits_with_switches = fits_with_switches
        self.calls: list[tuple[int, bool]] = []

    def get(self, generator):
        real, low_memory = load_pipeline(generator), generator.pk in self.low_memory

        def pipe(**arguments):
            self.calls.append((len(arguments["prompt"]), low_memory))
            if not (low_memory and self.fits_with_switches):
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
            return real(**arguments)

        return pipe


def test_out_of_memory_retries_once_with_memory_switches_then_fails_clearly(tiny_wan):
    prompts = [make_prompt(), make_prompt()]
    created = jobs.create_jobs(prompts, [tiny_wan], [0])
    ids = list(created.values_list("id", flat=True))
    fits = GpuTooSmall(fits_with_switches=True)
    report = run_jobs(ids, cache=fits)
    assert sorted(report.succeeded) == sorted(ids)
    assert fits.calls == [(2, False), (1, True), (1, True)]  # the batch, then each job alone, switches on
    assert Video.objects.count() == 2

    more = jobs.create_jobs(prompts, [tiny_wan], [1])
    ids = list(more.values_list("id", flat=True))
    too_small = GpuTooSmall(fits_with_switches=False)
    report = run_jobs(ids, cache=too_small)
    assert sorted(report.failed) == sorted(ids) and too_small.calls == [(2, False), (1, True), (1, True)]
    for job in more:
        assert job.state == "failed" and job.error.startswith("CUDA out of memory")
        assert "memory switches on (model_cpu_offload" in job.error and "tiny-wan" in job.error
    assert Video.objects.count() == 2


def test_the_refined_prompt_is_what_the_video_stores(tiny_wan, settings):
    from generation.refiner import template_refiner

    settings.PROMPT_REFINER = "generation.refiner.template_refiner"
    prompt = make_prompt("a lighthouse in a storm")
    call_command("generate", "--prompts", prompt.id, "--generators", "tiny-wan", verbosity=0)
    video = Video.objects.get(prompt=prompt)
    assert video.video_text == template_refiner(prompt.text) != prompt.text
