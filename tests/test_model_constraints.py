"""The database itself refuses impossible states."""

import hashlib

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotation.models import Annotation, Assignment
from generation.models import GenerationJob, Prompt, normalize_text
from moderation.models import ModerationModel
from safesora.taxonomy import empty_labels
from tests.factories import make_generator, make_pair, make_prompt, make_user, make_video

pytestmark = pytest.mark.django_db


def refused(fn):
    with pytest.raises(IntegrityError), transaction.atomic():
        fn()
    return True


def test_prompt_id_is_sha256_of_normalized_text():
    prompt = make_prompt("  A  Red fox\tin  SNOW ")
    assert normalize_text(prompt.text) == "a red fox in snow"
    assert prompt.id == hashlib.sha256(b"a red fox in snow").hexdigest()
    assert len(prompt.id) == 64


def test_prompts_are_unique_on_normalized_text():
    make_prompt("A red fox")
    assert refused(lambda: Prompt.objects.create(text="a  RED fox", prompt_type="safety_neutral"))


def test_prompt_type_and_labels_are_checked_by_the_database():
    assert refused(lambda: Prompt.objects.create(text="x1", prompt_type="dangerous"))
    assert refused(lambda: Prompt.objects.create(text="x2", prompt_type="safety_neutral",
                                                 prompt_labels={"porn": True}))


def test_one_job_per_prompt_generator_and_seed():
    prompt, gen = make_prompt(), make_generator()
    GenerationJob.objects.create(prompt=prompt, generator=gen, seed=1)
    assert refused(lambda: GenerationJob.objects.create(prompt=prompt, generator=gen, seed=1))
    assert refused(lambda: GenerationJob.objects.create(prompt=prompt, generator=gen, seed=2, state="lost"))


def test_a_pair_needs_two_distinct_videos():
    prompt = make_prompt()
    video = make_video(prompt, make_generator())
    assert refused(lambda: make_pair(prompt=prompt, video_0=video, video_1=video))


def test_a_pair_is_never_assigned_beyond_its_overlap():
    pair = make_pair(required_annotations=2)
    pair.claimed_count = 2
    pair.save()
    pair.claimed_count = 3
    assert refused(pair.save)


def answers(**overrides):
    values = dict(instruction_following="video_0", correctness="video_1", informativeness="video_0",
                  aesthetics="video_1", helpfulness="video_0", harmlessness="video_1",
                  video_0_is_safe=True, video_0_labels=empty_labels(),
                  video_1_is_safe=False, video_1_labels={**empty_labels(), "violence": True})
    return {**values, **overrides}


def test_one_person_annotates_a_pair_once():
    pair, user = make_pair(), make_user()
    lease = Assignment.objects.create(pair=pair, user=user, expires_at=timezone.now())
    Annotation.objects.create(pair=pair, user=user, assignment=lease, **answers())
    assert refused(lambda: Assignment.objects.create(pair=pair, user=user, expires_at=timezone.now()))
    other = Assignment.objects.create(pair=pair, user=make_user(), expires_at=timezone.now())
    assert refused(lambda: Annotation.objects.create(pair=pair, user=user, assignment=other, **answers()))


def test_answers_must_name_one_of_the_two_videos():
    pair, user = make_pair(), make_user()
    lease = Assignment.objects.create(pair=pair, user=user, expires_at=timezone.now())
    assert refused(lambda: Annotation.objects.create(pair=pair, user=user, assignment=lease,
                                                     **answers(helpfulness="tie")))
    assert refused(lambda: Annotation.objects.create(pair=pair, user=user, assignment=lease,
                                                     **answers(video_0_labels={"porn": False})))


def test_only_one_moderation_model_is_active_and_it_must_be_ready():
    ModerationModel.objects.create(version=1, state="ready", is_active=True)
    assert refused(lambda: ModerationModel.objects.create(version=2, state="ready", is_active=True))
    assert refused(lambda: ModerationModel.objects.create(version=3, state="training", is_active=True))
