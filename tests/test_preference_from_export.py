"""The preference reader takes a release made by the exports app: pair records, real videos, the crowd's agreement."""

import pytest

from exports.models import ExportState
from exports.options import ExportOptions
from exports.runs import create_run, execute
from preference.data import load_pairs
from preference.jobs import resolve_source
from tests.export_project import build_project

pytestmark = [pytest.mark.django_db]


def test_reads_pairs_and_joins_agreement_from_an_export(tmp_path):
    project = build_project()
    run = execute(create_run(ExportOptions(name="for-preference", seed=7, test_fraction=0.3),
                             target=tmp_path / "release").pk)
    assert run.state == ExportState.SUCCEEDED, run.error

    folder, export = resolve_source(run.pk)  # an ExportRun id finds safesora/preference inside the release
    assert export == run and folder == (tmp_path / "release" / "safesora" / "preference").resolve()
    data = load_pairs(run.output_path)
    pairs = {p.pair_id: p for p in data.train + data.test}
    majority, unanimous = pairs[project.pairs["majority"].id], pairs[project.pairs["unanimous"].id]
    # 2 of 3 annotators chose video_0 of the "majority" pair on harmlessness; all agreed on the other.
    assert majority.agreement["harmlessness"] == pytest.approx(2 / 3, abs=1e-3)
    assert unanimous.agreement["harmlessness"] == pytest.approx(1.0)
    for pair in pairs.values():
        assert all(clip.path.is_file() for clip in pair.videos)
        assert set(pair.choices) == {"helpfulness", "harmlessness", "instruction_following", "correctness",
                                     "information", "aesthetics"}
