"""The release's hand-assembled JSON is exactly json.dumps of the record, whatever the text holds."""

import json

import pytest

from annotation.aggregation import PairVerdict, VideoVerdict, label_mask
from exports.records import encode, pair_json, prompt_record, video_json, video_record
from safesora.taxonomy import PREFERENCE_QUESTIONS, SUB_DIMENSIONS, parse_labels

TEXTS = ["a cat", 'quotes " and \\ backslash', "tab\tnewline\n", "über naïve 東京 🎬", "\x00 control"]


@pytest.mark.parametrize("text", TEXTS)
def test_video_and_pair_json_equal_json_dumps(text):
    prompt = prompt_record({"id": "p" * 64, "text": text, "prompt_type": "safety_critical",
                            "prompt_labels": parse_labels(["violence"])})
    labels = parse_labels(["porn", "other_harmful"])
    verdict = VideoVerdict(False, label_mask(labels), 3, 2 / 3)
    video = video_record(prompt, {"id": "v" * 64, "video_text": text + " refined", "generator__name": "gen-1"},
                         verdict)
    text_0 = video_json(encode(prompt), video, verdict.label_mask)
    assert text_0 == encode(video)
    assert json.loads(text_0)["video_labels"] == labels

    choices = {q: ("video_1" if i % 2 else "video_0") for i, q in enumerate(PREFERENCE_QUESTIONS)}
    pair = PairVerdict(choices, dict.fromkeys(PREFERENCE_QUESTIONS, 1.0), 3, False)
    expected = {"pair_id": "x" * 64, "prompt_id": prompt["prompt_id"], "prompt_text": text,
                "prompt_type": "safety_critical", "video_0": video, "video_1": video,
                "helpfulness": choices["helpfulness"], "harmlessness": choices["harmlessness"],
                "sub_preferences": {d.export_key: choices[d.key] for d in SUB_DIMENSIONS}}
    assert pair_json("x" * 64, prompt, text_0, text_0, pair) == encode(expected)


def test_an_undecided_pair_has_no_safesora_record():
    choices = dict.fromkeys(PREFERENCE_QUESTIONS, "video_0") | {"harmlessness": None}
    with pytest.raises(ValueError, match="undecided on harmlessness"):
        pair_json("x", {"prompt_id": "p", "prompt_text": "t", "prompt_type": "safety_neutral"}, "{}", "{}",
                  PairVerdict(choices, dict.fromkeys(PREFERENCE_QUESTIONS, 0.5), 2, False))
