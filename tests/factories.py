"""Small builders for test data. Each returns a saved object with sensible defaults."""

import itertools
import tempfile
from pathlib import Path

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile

from annotation.models import Campaign, Pair
from generation.encoding import encode_mp4, poster_jpeg, probe
from generation.models import Generator, Prompt, Video, stable_id
from safesora.roles import CROWDWORKER, REVIEWER, ensure_role_groups

_counter = itertools.count(1)


def make_user(username: str | None = None, *, role: str | None = CROWDWORKER, staff: bool = False,
              password: str = "pw-for-tests-1"):
    ensure_role_groups()
    user = get_user_model().objects.create_user(
        username=username or f"user{next(_counter)}", password=password, is_staff=staff, is_superuser=staff)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def make_reviewer(username: str | None = None):
    return make_user(username, role=REVIEWER)


def make_prompt(text: str | None = None, **fields) -> Prompt:
    fields.setdefault("prompt_type", "safety_neutral")
    return Prompt.objects.create(text=text or f"a test prompt number {next(_counter)}", **fields)


def make_generator(name: str | None = None, **fields) -> Generator:
    fields.setdefault("family", "wan")
    fields.setdefault("pipeline_class", "WanPipeline")
    return Generator.objects.create(name=name or f"gen-{next(_counter)}", **fields)


def moving_square_frames(num_frames: int = 16, size: int = 64, seed: int = 0) -> np.ndarray:
    """A small clip with visible motion: a square crossing a coloured background."""
    rng = np.random.default_rng(seed)
    frames = np.empty((num_frames, size, size, 3), dtype=np.uint8)
    frames[:] = rng.integers(40, 200, size=3, dtype=np.uint8)
    for t in range(num_frames):
        x = int(t * (size - 16) / max(num_frames - 1, 1))
        frames[t, 24:40, x:x + 16] = 255
    return frames


def make_video(prompt: Prompt, generator: Generator, *, real: bool = False, seed: int = 0, **fields) -> Video:
    """A Video row. With real=True a real H.264 mp4 and poster are written to the media storage."""
    video_id = fields.pop("id", None) or stable_id("video", prompt.id, generator.name, next(_counter))
    num_frames = fields.pop("num_frames", 16)  # at 8 fps: 16 frames = 2 s
    video = Video(id=video_id, prompt=prompt, generator=generator, video_text=prompt.text,
                  fps=8, num_frames=num_frames, width=64, height=64, duration=num_frames / 8, sha256="0" * 64)
    if real:
        frames = moving_square_frames(num_frames, seed=seed)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "v.mp4"
            encode_mp4(frames, 8, path)
            info = probe(path)
            video.file.save("v.mp4", ContentFile(path.read_bytes()), save=False)
        video.poster.save("p.jpg", ContentFile(poster_jpeg(frames)), save=False)
        video.sha256, video.size_bytes = info.sha256, info.size_bytes
    else:
        video.file.name = f"videos/{prompt.id}/{video_id}.mp4"
    for key, value in fields.items():
        setattr(video, key, value)
    video.save(force_insert=True)
    return video


def make_real_pair(campaign: Campaign, text: str | None = None, seed: int = 0, *,
                   prompt_type: str = "safety_neutral", frames: tuple[int, int] = (16, 16), **fields) -> Pair:
    """A pair of two real, playable mp4s (seeds `seed` and `seed + 1`) of a new prompt, for browser tests."""
    prompt = make_prompt(text, prompt_type=prompt_type)
    v0 = make_video(prompt, make_generator(), real=True, seed=seed, num_frames=frames[0])
    v1 = make_video(prompt, make_generator(), real=True, seed=seed + 1, num_frames=frames[1])
    return make_pair(campaign, prompt=prompt, video_0=v0, video_1=v1, **fields)


def make_campaign(name: str | None = None, **fields) -> Campaign:
    return Campaign.objects.create(name=name or f"campaign {next(_counter)}", **fields)


def make_pairs(campaign: Campaign, n: int, **fields) -> list[Pair]:
    """`n` pairs in one go (bulk inserts): one prompt, n + 1 placeholder videos, pair i = videos i and i + 1."""
    prompt = make_prompt()
    generators = [make_generator(), make_generator()]
    videos = [Video(id=stable_id("video", prompt.id, campaign.pk, i, next(_counter)), prompt=prompt,
                    generator=generators[i % 2], video_text=prompt.text, fps=8, num_frames=16, width=64,
                    height=64, duration=2.0, sha256="0" * 64, file=f"videos/{prompt.id}/{i}.mp4")
              for i in range(n + 1)]
    Video.objects.bulk_create(videos)
    fields.setdefault("required_annotations", campaign.overlap)
    pairs = [Pair(id=stable_id("pair", campaign.pk, videos[i].id, videos[i + 1].id), campaign=campaign,
                  prompt=prompt, video_0=videos[i], video_1=videos[i + 1], **fields) for i in range(n)]
    return Pair.objects.bulk_create(pairs)


def valid_answers(**overrides) -> dict:
    """A complete, valid submission in the shape annotation.answers documents."""
    data = {"instruction_following": "video_0", "correctness": "video_1", "informativeness": "video_0",
            "aesthetics": "video_1", "helpfulness": "video_0", "harmlessness": "video_1",
            "video_0": {"is_safe": False, "categories": ["violence"]},
            "video_1": {"is_safe": True, "categories": []}}
    data.update(overrides)
    return data


def make_pair(campaign: Campaign | None = None, *, prompt: Prompt | None = None, **fields) -> Pair:
    """A pair of two fresh videos of one prompt from two generators."""
    campaign = campaign or make_campaign()
    prompt = prompt or make_prompt()
    v0 = fields.pop("video_0", None) or make_video(prompt, make_generator())
    v1 = fields.pop("video_1", None) or make_video(prompt, make_generator())
    fields.setdefault("required_annotations", campaign.overlap)
    return Pair.objects.create(id=stable_id("pair", campaign.pk, v0.id, v1.id), campaign=campaign,
                               prompt=prompt, video_0=v0, video_1=v1, **fields)


def make_annotation(pair: Pair, user=None, *, labels_0=(), labels_1=(), safe_0: bool | None = None,
                    safe_1: bool | None = None, default: str = "video_0", **answers):
    """A submitted annotation of `pair` (with its lease). Unnamed pairwise answers are `default`;
    harm labels are given as lists of keys; is_safe defaults to "no label set"."""
    from django.db.models import F
    from django.utils import timezone

    from annotation.models import Annotation, Assignment, AssignmentState
    from safesora.taxonomy import PREFERENCE_QUESTIONS, parse_labels

    user = user or make_user()
    now = timezone.now()
    assignment = Assignment.objects.create(pair=pair, user=user, state=AssignmentState.SUBMITTED,
                                           expires_at=now, finished_at=now)
    fields = {q: answers.pop(q, default) for q in PREFERENCE_QUESTIONS}
    annotation = Annotation.objects.create(
        pair=pair, user=user, assignment=assignment, **fields,
        video_0_labels=parse_labels(list(labels_0)), video_1_labels=parse_labels(list(labels_1)),
        video_0_is_safe=not labels_0 if safe_0 is None else safe_0,
        video_1_is_safe=not labels_1 if safe_1 is None else safe_1, **answers)
    Pair.objects.filter(pk=pair.pk).update(annotation_count=F("annotation_count") + 1,
                                           claimed_count=F("claimed_count") + 1)
    return annotation


def make_review(pair: Pair, reviewer=None, *, labels_0=(), labels_1=(), default: str = "video_0", **answers):
    """A review of `pair`: the final answer for it (see annotation.aggregation)."""
    from annotation.models import Review
    from safesora.taxonomy import PREFERENCE_QUESTIONS, parse_labels

    fields = {q: answers.pop(q, default) for q in PREFERENCE_QUESTIONS}
    return Review.objects.create(
        pair=pair, reviewer=reviewer or make_reviewer(), **fields,
        video_0_labels=parse_labels(list(labels_0)), video_1_labels=parse_labels(list(labels_1)),
        video_0_is_safe=not labels_0, video_1_is_safe=not labels_1, **answers)
