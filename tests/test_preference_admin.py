"""The admin: evaluation report per reward/cost model (staff only), activation per dimension, the train form."""

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from moderation.models import ModelState
from preference.jobs import JobError, create_models
from preference.models import PreferenceModel
from preference.train import PreferenceConfig
from tests.preference_helpers import planted_release, ready_model

pytestmark = pytest.mark.django_db


def test_report_page_shows_agreement_calibration_figures_and_card(client, staff_user, crowdworker, tmp_path):
    model = ready_model("harmlessness")
    url = reverse("admin:preference_preferencemodel_report", args=[model.pk])
    client.force_login(staff_user)
    html = client.get(url).content.decode()
    for marker in ('id="agreement"', "crowd unanimous", "crowd 2 of 3", 'id="cost-sign"', 'id="calibration"',
                   'id="generators"', "gen-a", "Model card"):
        assert marker in html, marker
    for name in ("calibration.png", "scores_by_generator.png"):
        file_url = reverse("admin:preference_preferencemodel_report_file", args=[model.pk, name])
        assert file_url in html
        image = client.get(file_url)
        assert image.status_code == 200 and b"".join(image.streaming_content)[:4] == b"\x89PNG"
    assert client.get(reverse("admin:preference_preferencemodel_report_file",
                              args=[model.pk, "model.pt"])).status_code == 404
    listing = client.get(reverse("admin:preference_preferencemodel_changelist")).content.decode()
    assert url in listing and "<progress" in listing
    client.force_login(crowdworker)
    assert client.get(url).status_code == 302


def ready(dimension: str, version: int) -> PreferenceModel:
    return PreferenceModel.objects.create(dimension=dimension, version=version, state=ModelState.READY,
                                          kind="cost" if dimension == "harmlessness" else "reward")


def test_one_active_model_per_dimension(client, staff_user):
    first, second, cost = ready("helpfulness", 1), ready("helpfulness", 2), ready("harmlessness", 1)
    first.activate()
    cost.activate()
    client.force_login(staff_user)
    client.post(reverse("admin:preference_preferencemodel_changelist"),
                {"action": "activate_model", "_selected_action": [second.pk]})
    assert PreferenceModel.active("helpfulness") == second
    assert PreferenceModel.active("harmlessness") == cost  # another dimension is left alone
    training = PreferenceModel.objects.create(dimension="aesthetics", version=1, kind="reward")
    response = client.post(reverse("admin:preference_preferencemodel_changelist"),
                           {"action": "activate_model", "_selected_action": [training.pk]}, follow=True)
    assert "finished training" in response.content.decode() and PreferenceModel.active("aesthetics") is None


def test_train_form_and_command_refuse_a_bad_source_and_write_nothing(client, staff_user, tmp_path):
    client.force_login(staff_user)
    url = reverse("admin:preference_preferencemodel_add")
    assert 'id="preference-train-form"' in client.get(url).content.decode()
    fields = {"dimension": "all", "epochs": 1, "frames": 8, "size": 32, "backbone": "small", "text": "hashed",
              "seed": 0}
    assert "Choose an export or give a folder" in client.post(url, fields).content.decode()
    assert "not a folder" in client.post(url, {"folder": str(tmp_path / "none"), **fields}).content.decode()
    with pytest.raises(CommandError, match="no export run with id 999"):
        call_command("train_preference", "--export", "999", "--dimension", "helpfulness")
    with pytest.raises(CommandError, match="no config-train.json.gz with pair records"):
        call_command("train_preference", "--export", str(tmp_path), "--dimension", "helpfulness")
    assert not PreferenceModel.objects.exists()


def test_all_dimensions_make_one_version_each_and_harmlessness_is_a_cost_model(settings, tmp_path):
    settings.PREFERENCE_DIR = tmp_path
    models = create_models(str(planted_release()), "all", PreferenceConfig())
    assert sorted(m.dimension for m in models) == sorted(
        ["helpfulness", "harmlessness", "instruction_following", "correctness", "information", "aesthetics"])
    assert {m.dimension: m.kind for m in models}["harmlessness"] == "cost"
    assert all(m.version == 1 and m.state == ModelState.TRAINING for m in models)
    again = create_models(str(planted_release()), "helpfulness", PreferenceConfig())
    assert again[0].version == 2
    with pytest.raises(JobError, match="unknown dimension"):
        create_models(str(planted_release()), "fun", PreferenceConfig())


def test_without_a_broker_the_train_form_says_what_happened_not_queued(client, staff_user, tmp_path, settings):
    """The embedded demo runs tasks in the request: the message reports the finished run."""
    settings.PREFERENCE_DIR = tmp_path / "runs"
    client.force_login(staff_user)
    response = client.post(reverse("admin:preference_preferencemodel_add"), {
        "folder": str(planted_release()), "dimension": "helpfulness", "epochs": 1, "frames": 8, "size": 32,
        "backbone": "small", "text": "hashed", "seed": 0}, follow=True)
    model = PreferenceModel.objects.get()
    assert model.state == ModelState.READY, model.error
    text = response.content.decode()
    assert "finished: agreement with the crowd" in text and "queued" not in text
