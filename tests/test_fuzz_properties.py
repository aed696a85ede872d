"""Property-based tests (hypothesis) of the three input readers: prompt import, video manifest
import and answer validation. Whatever the input, each either accepts it or refuses it with its
own error type and a message, never another exception, and a refused input writes nothing.
Answer validation is also checked against the published JSON schema: what the schema admits,
the validator accepts.

Bounded run time: max_examples per test below (about 700 examples in all).
"""

import json
import string

import jsonschema
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from annotation.answers import ANSWERS_JSON_SCHEMA, AnswerError, clean_answers
from generation.encoding import encode_mp4
from generation.models import Prompt, Video
from generation.prompt_import import PromptImportError, import_prompts
from generation.video_import import import_videos
from safesora.taxonomy import HARM_KEYS, PREFERENCE_QUESTIONS
from tests.factories import make_generator, moving_square_frames


def bounded(n: int):
    return hypothesis_settings(max_examples=n, deadline=None, database=None, derandomize=True,
                               suppress_health_check=list(HealthCheck))


# --- answers ---------------------------------------------------------------------------------

junk = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8),
                 st.lists(st.text(max_size=4), max_size=2))
side = st.sampled_from(["video_0", "video_1"])
category_lists = st.one_of(st.lists(st.sampled_from(HARM_KEYS), max_size=4),
                           st.lists(st.one_of(st.sampled_from(HARM_KEYS), junk), max_size=3), junk)
video_entries = st.one_of(
    st.fixed_dictionaries({"is_safe": st.one_of(st.booleans(), junk)},
                          optional={"categories": category_lists, "extra": junk}),
    junk)
answers = st.fixed_dictionaries(
    {},
    optional={**{q: st.one_of(side, junk) for q in PREFERENCE_QUESTIONS},
              "video_0": video_entries, "video_1": video_entries,
              "confirm_safe_with_labels": st.one_of(st.booleans(), junk),
              "unknown": junk})
# Complete submissions with plausible values (many valid, many breaking one rule), then with one
# entry replaced by junk: random dictionaries alone almost never hold every required answer.
plausible_video = st.one_of(
    st.just({"is_safe": True}),
    st.fixed_dictionaries({"is_safe": st.just(False),
                           "categories": st.lists(st.sampled_from(HARM_KEYS), min_size=1, max_size=3, unique=True)}),
    st.fixed_dictionaries({"is_safe": st.booleans()},
                          optional={"categories": st.lists(st.sampled_from(HARM_KEYS), max_size=3)}))
plausible = st.fixed_dictionaries({**{q: side for q in PREFERENCE_QUESTIONS},
                                   "video_0": plausible_video, "video_1": plausible_video},
                                  optional={"confirm_safe_with_labels": st.booleans()})
mutated = st.tuples(plausible, st.sampled_from([*PREFERENCE_QUESTIONS, "video_0", "video_1",
                                                "confirm_safe_with_labels", "unknown"]), junk).map(
    lambda t: {**t[0], t[1]: t[2]})
schema_validator = jsonschema.Draft202012Validator(ANSWERS_JSON_SCHEMA)


@bounded(400)
@given(data=st.one_of(plausible, mutated, answers, junk))
def test_answer_validation_accepts_exactly_what_the_schema_admits(data):
    try:
        values = clean_answers(data)
    except AnswerError as refused:
        assert refused.errors and all(isinstance(m, str) and m for m in refused.errors.values())
        assert not schema_validator.is_valid(data), f"the schema admits {data!r}, the server refused: {refused.errors}"
        return
    for video in ("video_0", "video_1"):
        labels = values[f"{video}_labels"]
        assert set(labels) == set(HARM_KEYS) and all(isinstance(v, bool) for v in labels.values())
        if values[f"{video}_is_safe"] is False:
            assert any(labels.values())  # unsafe always names a harm


# --- prompt import ---------------------------------------------------------------------------

json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                                     st.text(max_size=20)),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                       max_size=3),
                           max_leaves=8)
prompt_records = st.fixed_dictionaries({}, optional={
    "prompt_text": st.one_of(st.text(min_size=1, max_size=40), json_values),
    "prompt_type": st.one_of(st.sampled_from(["safety_critical", "safety_neutral"]), json_values),
    "prompt_labels": st.one_of(st.lists(st.sampled_from(HARM_KEYS), max_size=3), json_values),
    "prompt_id": st.one_of(st.text(alphabet="0123456789abcdef", min_size=64, max_size=64), json_values),
    "split": st.one_of(st.sampled_from(["", "train", "test"]), json_values),
})
prompt_files = st.one_of(
    st.tuples(st.just("p.jsonl"), st.lists(prompt_records, min_size=1, max_size=4).map(
        lambda rs: "".join(json.dumps(r) + "\n" for r in rs).encode("utf-8", "surrogatepass"))),
    st.tuples(st.just("p.json"), st.lists(prompt_records, max_size=4).map(
        lambda rs: json.dumps(rs).encode("utf-8", "surrogatepass"))),
    st.tuples(st.sampled_from(["p.jsonl", "p.json", "p.csv", "p.jsonl.gz"]), st.binary(max_size=300)),
    st.tuples(st.just("p.csv"), st.text(alphabet=string.printable + "é\x00\u2028", max_size=200).map(
        lambda body: ("prompt_text,prompt_type,prompt_labels\n" + body).encode())),
)


@pytest.mark.django_db
@bounded(150)
@given(file=prompt_files)
def test_prompt_import_accepts_or_refuses_cleanly(tmp_path_factory, file):
    name, content = file
    path = tmp_path_factory.mktemp("prompts") / name
    path.write_bytes(content)
    before = Prompt.objects.count()
    try:
        report = import_prompts(path)
    except PromptImportError as refused:
        assert str(refused) and refused.where
        assert Prompt.objects.count() == before  # all or nothing
        return
    assert Prompt.objects.count() == before + report.created


# --- video manifest import -------------------------------------------------------------------

FILES = ["good.mp4", "notes.txt", "missing.mp4", "../outside.mp4", "/etc/hostname", "", "sub/../good.mp4"]
manifest_records = st.fixed_dictionaries({}, optional={
    "file": st.one_of(st.sampled_from(FILES), json_values),
    "generator": st.one_of(st.just("ext"), json_values),
    "prompt_text": st.one_of(st.text(min_size=1, max_size=20), json_values),
    "prompt_type": st.one_of(st.just("safety_neutral"), json_values),
    "prompt_id": json_values,
    "seed": st.one_of(st.integers(min_value=-5, max_value=2**70), json_values),
    "video_id": st.one_of(st.text(max_size=70), json_values),
})


@pytest.fixture
def video_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos") / "incoming"
    (folder / "sub").mkdir(parents=True)
    encode_mp4(moving_square_frames(6, size=32, seed=1), 8, folder / "good.mp4")
    (folder / "notes.txt").write_text("not a video\n" * 100)
    (folder.parent / "outside.mp4").write_bytes((folder / "good.mp4").read_bytes())
    return folder


@pytest.fixture
def ext_generator(db):
    return make_generator("ext")


@pytest.mark.django_db
@bounded(120)
@given(record=st.one_of(manifest_records, json_values))
def test_manifest_records_import_or_are_refused_without_writes(video_folder, ext_generator, record):
    manifest = video_folder / "manifest.jsonl"
    manifest.write_text(json.dumps(record) + "\n", encoding="utf-8", errors="surrogatepass")
    before = (Prompt.objects.count(), Video.objects.count())
    report = import_videos(manifest)
    assert report.records == 1
    if report.refused:
        assert report.refused[0][1]
        assert (Prompt.objects.count(), Video.objects.count()) == before  # a refused record writes nothing
    else:
        assert Video.objects.count() == before[1] + report.imported
        assert all(v.file.path.startswith(str(v.file.storage.location)) for v in Video.objects.all())
