"""The generator leaderboard: reward win rates and unsafe rates, by command (CSV + PNG) and on a staff page.

Generator "disks" always shows the planted red disk, "plain" never: the planted reward model must
make "disks" win on every shared prompt, the cost model the other way round, and the tiny
moderation model (which spots the disk as adult content) must flag "disks" videos, not "plain" ones.
"""

import csv
import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from moderation.models import ModelState, ModerationModel
from preference.models import VideoScore
from tests.factories import make_generator, make_prompt
from tests.moderation_helpers import porn_only_release, tiny_artifact
from tests.preference_helpers import ready_model, video_with_clip

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(media_root):
    disks, plain, third = make_generator("disks"), make_generator("plain"), make_generator("third")
    prompts = [make_prompt(f"a walk in the park {i}", split="eval" if i < 2 else "",
                           prompt_type="safety_critical" if i % 2 else "safety_neutral") for i in range(4)]
    seed = 0
    for prompt in prompts:
        for generator in (disks, plain):
            seed += 1
            video_with_clip(prompt, generator, disk=generator == disks, seed=seed, media_root=media_root)
    video_with_clip(prompts[0], third, disk=False, seed=99, media_root=media_root)
    return prompts


def moderation_model() -> ModerationModel:
    import json

    artifact = tiny_artifact()
    data = json.loads((artifact.parent / "report" / "metrics.json").read_text())
    thresholds = {**{k: v["threshold"] for k, v in data["metrics"]["categories"].items()},
                  "unsafe": data["metrics"]["unsafe"]["threshold"]}
    model = ModerationModel.objects.create(version=1, state=ModelState.READY, artifact_path=str(artifact),
                                           thresholds=thresholds, snapshot_path=str(porn_only_release()))
    model.activate()
    return model


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_command_refuses_without_active_models(project, tmp_path):
    with pytest.raises(CommandError, match="no active reward, cost or moderation model"):
        call_command("leaderboard", "--output", str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_win_rates_and_unsafe_rates_from_the_command(project, tmp_path):
    ready_model("helpfulness", active=True)
    ready_model("harmlessness", active=True)
    moderation_model()
    call_command("leaderboard", "--output", str(tmp_path), verbosity=0)

    table = rows((tmp_path / "leaderboard-all.csv").read_text())
    win = {(r["dimension"], r["generator"], r["opponent"]): r for r in table if r["table"] == "win_rate"}
    assert win[("helpfulness", "disks", "plain")]["count"] == "4"
    assert float(win[("helpfulness", "disks", "plain")]["rate"]) == 1.0
    assert float(win[("helpfulness", "plain", "disks")]["rate"]) == 0.0
    assert float(win[("harmlessness", "plain", "disks")]["rate"]) == 1.0  # lower cost wins harmlessness
    assert win[("helpfulness", "disks", "third")]["count"] == "1"  # only the prompt both generated
    assert float(win[("helpfulness", "disks", "plain")]["ci_low"]) < 1.0  # 4 prompts: a wide interval
    unsafe = {(r["generator"], r["prompt_type"], r["category"]): r for r in table if r["table"] == "unsafe_rate"}
    assert float(unsafe[("disks", "safety_critical", "porn")]["rate"]) == 1.0
    assert float(unsafe[("plain", "safety_critical", "porn")]["rate"]) == 0.0
    assert unsafe[("disks", "safety_neutral", "unsafe")]["count"] == "2"
    assert (tmp_path / "leaderboard-all.png").read_bytes()[:4] == b"\x89PNG"
    # Scores are kept: the next run scores nothing again.
    assert VideoScore.objects.count() == 2 * 9

    call_command("leaderboard", "--prompts", "eval", "--output", str(tmp_path), verbosity=0)
    eval_rows = rows((tmp_path / "leaderboard-eval.csv").read_text())
    assert {r["count"] for r in eval_rows if r["table"] == "win_rate" and r["opponent"] == "plain"
            and r["generator"] == "disks"} == {"2"}


def test_staff_page_shows_the_matrix_and_downloads(client, staff_user, crowdworker, project):
    ready_model("helpfulness", active=True)
    url = reverse("leaderboard")
    client.force_login(crowdworker)
    assert client.get(url).status_code in (302, 403)
    client.force_login(staff_user)
    html = client.get(url).content.decode()
    assert 'data-dimension="helpfulness"' in html and "n=4" in html and "1.00" in html
    assert client.get(reverse("leaderboard_png")).content[:4] == b"\x89PNG"
    download = client.get(reverse("leaderboard_csv") + "?prompts=eval")
    assert download["Content-Disposition"].endswith('leaderboard-eval.csv"')
    assert any(r["table"] == "win_rate" for r in rows(download.content.decode()))
