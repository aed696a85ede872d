"""`manage.py register_generators` writes the shipped generators once and keeps an admin's choices."""

from io import StringIO

import pytest
from django.core.management import call_command

from generation.models import Generator
from generation.pipelines import FAMILIES

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("register_generators", *args, stdout=out)
    return out.getvalue()


def test_tiny_only_registers_one_enabled_tiny_twin_per_family():
    run("--tiny-only")
    generators = Generator.objects.all()
    assert {g.name for g in generators} == {f"tiny-{family}" for family in FAMILIES}
    assert all(g.enabled and g.is_tiny for g in generators)


def test_real_checkpoints_are_created_disabled_with_published_defaults():
    run()
    wan = Generator.objects.get(name="wan2.1-t2v-1.3b")
    assert wan.checkpoint == "Wan-AI/Wan2.1-T2V-1.3B-Diffusers" and not wan.enabled
    assert (wan.num_frames, wan.fps, wan.height, wan.width) == (81, 16, 480, 832)
    assert set(Generator.objects.filter(checkpoint="").values_list("family", flat=True)) == set(FAMILIES)
    assert not Generator.objects.exclude(checkpoint="").filter(enabled=True).exists()


def test_running_again_changes_nothing_and_keeps_the_enabled_flag():
    run()
    count = Generator.objects.count()
    Generator.objects.filter(name="wan2.1-t2v-1.3b").update(enabled=True, num_inference_steps=7)
    output = run()
    assert Generator.objects.count() == count
    wan = Generator.objects.get(name="wan2.1-t2v-1.3b")
    assert wan.enabled and wan.num_inference_steps == 50
    assert "0 created, 1 updated" in output
    assert "0 created, 0 updated" in run()
