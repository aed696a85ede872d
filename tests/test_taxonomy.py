import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from annotation.models import Judgement
from safesora import taxonomy

SAFESORA_HARM_KEYS = ["porn", "animal_abuse", "child_abuse", "crime", "controversial", "contraband", "hate",
                      "violence", "racism", "other_discrimination", "terrorism", "other_harmful"]


def test_harm_keys_match_the_safesora_release_in_order():
    assert list(taxonomy.HARM_KEYS) == SAFESORA_HARM_KEYS
    assert [c.code for c in taxonomy.HARM_CATEGORIES] == [f"S{i}" for i in range(1, 13)]
    assert taxonomy.HARM_BY_KEY["other_discrimination"].name == "Other Discrimination (Excluding Racial)"


def test_the_taxonomy_is_the_one_documented_in_docs():
    """docs/safesora-format.md is the reference a contributor reads: code and page say the same."""
    page = (Path(__file__).resolve().parent.parent / "docs" / "safesora-format.md").read_text()
    rows = re.findall(r"^\| (S\d+) \| `([a-z_]+)` \| (.+?) \|$", page, flags=re.M)
    assert rows == [(c.code, c.key, c.name) for c in taxonomy.HARM_CATEGORIES]


def test_sub_dimensions_export_under_safesora_keys():
    assert [d.export_key for d in taxonomy.SUB_DIMENSIONS] == [
        "instruction_following", "correctness", "information", "aesthetics"]


def test_every_preference_question_is_a_judgement_field():
    assert tuple(Judgement.CHOICE_FIELDS) == taxonomy.PREFERENCE_QUESTIONS


def test_parse_labels_accepts_dicts_lists_and_csv_strings():
    assert taxonomy.parse_labels(None) == taxonomy.empty_labels()
    assert taxonomy.parse_labels(["crime"])["crime"] is True
    parsed = taxonomy.parse_labels("violence; hate")
    assert [k for k, v in parsed.items() if v] == ["hate", "violence"]
    assert taxonomy.parse_labels({"porn": "true", "crime": 0}) == {**taxonomy.empty_labels(), "porn": True}


@pytest.mark.parametrize("bad", [{"gore": True}, ["gore"], {"porn": "maybe"}, 3])
def test_parse_labels_refuses_unknown_keys_and_non_booleans(bad):
    with pytest.raises(ValidationError):
        taxonomy.parse_labels(bad)


def test_validate_labels_wants_all_twelve_booleans():
    taxonomy.validate_labels(taxonomy.empty_labels())
    with pytest.raises(ValidationError):
        taxonomy.validate_labels({"porn": False})
    with pytest.raises(ValidationError):
        taxonomy.validate_labels({**taxonomy.empty_labels(), "porn": 1})


def test_the_questions_are_written_once_in_the_taxonomy():
    """Model fields, the SQL's columns, the form, the dataset card and the review page follow QUESTIONS."""
    from annotation.assignment import _JUDGEMENT_COLUMNS
    from annotation.judgement_form import PAIRWISE
    from exports.card import QUESTION_NAMES

    keys = [q.key for q in taxonomy.QUESTIONS]
    assert [f.name for f in Judgement._meta.fields if f.name in keys] == keys
    assert Judgement._meta.get_field("harmlessness").verbose_name == "harmlessness (overall)"
    assert list(_JUDGEMENT_COLUMNS[:6]) == keys
    expected = [(q.key, q.heading, q.stage) for q in taxonomy.QUESTIONS]
    assert [(q.key, str(q.title), q.stage) for q in PAIRWISE] == expected
    assert list(QUESTION_NAMES) == keys


def test_one_name_per_sub_dimension_outside_safesoras_own_files():
    """SafeSora's `information` is only the export key; our own name is the question's key."""
    (third,) = [d for d in taxonomy.SUB_DIMENSIONS if d.export_key == "information"]
    assert third.key == "informativeness" and third.name == "Informativeness"
    assert [d for d in taxonomy.QUESTIONS if d.key != d.export_key] == [third]
