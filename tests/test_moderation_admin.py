"""The admin: evaluation report per model (staff only), activation, the train form, flagged videos marked."""

import io
import re
import shutil

import pytest
from django.core.management import call_command
from django.urls import reverse

from moderation.models import ModelState, ModerationModel
from tests.factories import make_generator, make_prompt, make_video
from tests.moderation_helpers import porn_only_release, tiny_artifact
from tests.synthetic_clips import write_label_dataset

pytestmark = pytest.mark.django_db


def trained(version: int = 1) -> ModerationModel:
    """A READY row built from the tiny training run's own metrics and report."""
    import json

    artifact = tiny_artifact()
    report = artifact.parent / "report"
    data = json.loads((report / "metrics.json").read_text())
    return ModerationModel.objects.create(
        version=version, state=ModelState.READY, artifact_path=str(artifact), report_path=str(report),
        metrics={"test": data["metrics"], "history": data["info"]["history"]}, snapshot_path=str(porn_only_release()))


def test_report_page_shows_metrics_figures_and_card_to_staff(client, staff_user):
    model = trained()
    client.force_login(staff_user)
    page = client.get(reverse("admin:moderation_moderationmodel_report", args=[model.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="per-category"' in html and "Adult, Explicit Sexual Content" in html and "macro average" in html
    assert "Model card" in html and "Held-out metrics" in html
    for name in ("pr_curves.png", "per_category.png"):
        url = reverse("admin:moderation_moderationmodel_report_file", args=[model.pk, name])
        assert url in html
        image = client.get(url)
        assert image.status_code == 200 and b"".join(image.streaming_content)[:4] == b"\x89PNG"
    assert client.get(reverse("admin:moderation_moderationmodel_report_file", args=[model.pk, "secret.txt"])
                      ).status_code == 404
    listing = client.get(reverse("admin:moderation_moderationmodel_changelist")).content.decode()
    assert reverse("admin:moderation_moderationmodel_report", args=[model.pk]) in listing


def test_report_is_refused_to_crowdworkers_and_anonymous(client, crowdworker):
    model = trained()
    for url in (reverse("admin:moderation_moderationmodel_report", args=[model.pk]),
                reverse("admin:moderation_moderationmodel_report_file", args=[model.pk, "pr_curves.png"])):
        assert client.get(url).status_code == 302
        client.force_login(crowdworker)
        assert client.get(url).status_code == 302
        client.logout()


def test_activate_action_makes_one_model_active(client, staff_user):
    first, second = trained(1), trained(2)
    first.activate()
    client.force_login(staff_user)
    url = reverse("admin:moderation_moderationmodel_changelist")
    client.post(url, {"action": "activate_model", "_selected_action": [second.pk]})
    assert ModerationModel.active() == second
    response = client.post(url, {"action": "activate_model", "_selected_action": [first.pk, second.pk]},
                           follow=True)
    assert "exactly one" in response.content.decode() and ModerationModel.active() == second


def test_train_form_needs_a_source_and_creates_a_version(client, staff_user, tmp_path, settings):
    settings.MODERATION_DIR = tmp_path / "runs"
    client.force_login(staff_user)
    url = reverse("admin:moderation_moderationmodel_add")
    page = client.get(url)
    assert page.status_code == 200 and 'id="train-form"' in page.content.decode()
    fields = {"epochs": 1, "frames": 8, "size": 32, "backbone": "small", "text": "hashed", "seed": 0}
    response = client.post(url, fields)
    assert "Choose an export or give a folder" in response.content.decode()
    response = client.post(url, {"folder": str(tmp_path / "nothing"), **fields})
    assert "not a folder" in response.content.decode() and not ModerationModel.objects.exists()


def test_flagged_videos_carry_a_badge_in_the_video_list(client, staff_user):
    prompt, generator = make_prompt(), make_generator()
    make_video(prompt, generator, flagged=True, moderated_at="2026-01-01T00:00Z",
               harm_scores={"flagged_categories": ["violence"], "categories": {}, "unsafe_probability": 0.9})
    make_video(prompt, generator, flagged=False, moderated_at="2026-01-01T00:00Z",
               harm_scores={"flagged_categories": [], "categories": {}, "unsafe_probability": 0.1})
    client.force_login(staff_user)
    html = client.get(reverse("admin:generation_video_changelist")).content.decode()
    assert html.count('class="moderation-flagged"') == 1 and "flagged: violence" in html
    assert 'class="moderation-ok"' in html
    filtered = client.get(reverse("admin:generation_video_changelist") + "?flagged__exact=1").content.decode()
    assert filtered.count('class="moderation-flagged"') == 1 and 'class="moderation-ok"' not in filtered


def test_deleting_the_report_folder_leaves_the_page_working(client, staff_user, tmp_path):
    model = trained()
    copy = tmp_path / "report"
    shutil.copytree(model.report_path, copy)
    model.report_path = str(copy)
    model.save()
    shutil.rmtree(copy)
    client.force_login(staff_user)
    assert client.get(reverse("admin:moderation_moderationmodel_report", args=[model.pk])).status_code == 200


def train_from_admin(client, folder, **fields):
    data = {"folder": str(folder), "epochs": 1, "frames": 4, "size": 32, "backbone": "small", "text": "hashed",
            "seed": 0, **fields}
    return client.post(reverse("admin:moderation_moderationmodel_add"), data, follow=True)


def test_in_process_training_from_the_admin_reports_its_result(client, staff_user, tmp_path, settings):
    # No broker in tests (as in the demo): the job has run by the time the page answers.
    settings.MODERATION_DIR = tmp_path / "runs"
    client.force_login(staff_user)
    response = train_from_admin(client, porn_only_release())
    model = ModerationModel.objects.get()
    assert model.state == ModelState.READY
    [message] = [str(m) for m in response.context["messages"]]
    assert "queued" not in message
    assert re.fullmatch(r"Training of moderation v1 finished: macro-F1 \d\.\d{3}, unsafe AUROC \d\.\d{3} on "
                        r"40 held-out videos\.", message), message
    # Its page shows the configuration as tables, not JSON.
    html = response.content.decode()
    assert 'id="moderation-config"' in html and "{&quot;" not in html


def test_a_model_trained_on_no_unsafe_video_says_so(client, staff_user, tmp_path, settings):
    settings.MODERATION_DIR = tmp_path / "runs"
    safe_only = write_label_dataset(tmp_path / "safe-only", train=16, test=6, seed=3, size=32, unsafe_share=0.0)
    client.force_login(staff_user)
    response = train_from_admin(client, safe_only)
    model = ModerationModel.objects.get()
    assert model.state == ModelState.READY
    [message] = response.context["messages"]
    assert message.level_tag == "warning" and "trained on 0 unsafe videos" in str(message)
    page = client.get(reverse("admin:moderation_moderationmodel_change", args=[model.pk]))
    assert [m.level_tag for m in page.context["messages"]] == ["warning"]
    report = client.get(reverse("admin:moderation_moderationmodel_report", args=[model.pk])).content.decode()
    assert 'id="report-warning"' in report and "trained on 0 unsafe videos" in report

    out = io.StringIO()
    call_command("train_moderation", "--export", str(safe_only), "--epochs", "1", "--size", "32", "--frames", "4",
                 "-v", "0", stdout=out)
    assert "WARNING: This model was trained on 0 unsafe videos" in out.getvalue()
