"""Small builders for test data. Each returns a saved object with sensible defaults."""

import itertools

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from annotation.models import Campaign, Pair
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


def make_video(prompt: Prompt, generator: Generator, *, file: str = "", **fields) -> Video:
    """A Video row. `file` is a storage name; tests that play or decode videos write a real one."""
    video_id = fields.pop("id", None) or stable_id("video", prompt.id, generator.name, next(_counter))
    defaults = {"video_text": prompt.text, "fps": 8, "num_frames": 9, "width": 64, "height": 64,
                "duration": 9 / 8, "sha256": "0" * 64}
    return Video.objects.create(id=video_id, prompt=prompt, generator=generator,
                                file=file or f"videos/{prompt.id}/{video_id}.mp4", **{**defaults, **fields})


def make_campaign(name: str | None = None, **fields) -> Campaign:
    return Campaign.objects.create(name=name or f"campaign {next(_counter)}", **fields)


def make_pair(campaign: Campaign | None = None, *, prompt: Prompt | None = None, **fields) -> Pair:
    """A pair of two fresh videos of one prompt from two generators."""
    campaign = campaign or make_campaign()
    prompt = prompt or make_prompt()
    v0 = fields.pop("video_0", None) or make_video(prompt, make_generator())
    v1 = fields.pop("video_1", None) or make_video(prompt, make_generator())
    fields.setdefault("required_annotations", campaign.overlap)
    return Pair.objects.create(id=stable_id("pair", campaign.pk, v0.id, v1.id), campaign=campaign,
                               prompt=prompt, video_0=v0, video_1=v1, **fields)
