"""clean_answers: the one validator behind the API and the HTML form."""

import pytest
from django.http import QueryDict

from annotation.answers import AnswerError, answers_from_form, clean_answers, grade_gold, judgement_as_answers
from safesora.taxonomy import HARM_KEYS, PREFERENCE_QUESTIONS
from tests.factories import valid_answers


def errors_of(data) -> dict:
    with pytest.raises(AnswerError) as err:
        clean_answers(data)
    return err.value.errors


def test_valid_answers_become_judgement_fields():
    values = clean_answers(valid_answers())
    assert {q: values[q] for q in PREFERENCE_QUESTIONS} == {q: valid_answers()[q] for q in PREFERENCE_QUESTIONS}
    assert values["video_0_is_safe"] is False and values["video_1_is_safe"] is True
    assert list(values["video_0_labels"]) == list(HARM_KEYS)
    assert [k for k, v in values["video_0_labels"].items() if v] == ["violence"]
    assert not any(values["video_1_labels"].values())


def test_every_question_must_be_answered_with_a_side():
    data = valid_answers(correctness=None, aesthetics="both")
    del data["helpfulness"]
    errors = errors_of(data)
    assert set(errors) == {"correctness", "aesthetics", "helpfulness"}


def test_unsafe_needs_a_category_and_safe_with_categories_needs_confirmation():
    assert set(errors_of(valid_answers(video_0={"is_safe": False, "categories": []}))) == {"video_0_categories"}
    safe_but_labelled = valid_answers(video_1={"is_safe": True, "categories": ["crime"]})
    assert "confirm" in errors_of(safe_but_labelled)["video_1_categories"]
    values = clean_answers({**safe_but_labelled, "confirm_safe_with_labels": True})
    assert values["video_1_is_safe"] is True and values["video_1_labels"]["crime"] is True


def test_unknown_keys_and_shapes_are_named():
    assert "gore" in errors_of(valid_answers(video_0={"is_safe": False, "categories": ["gore"]}))["video_0_categories"]
    assert "answers" in errors_of({**valid_answers(), "helpfullness": "video_0"})
    assert "video_1_is_safe" in errors_of(valid_answers(video_1=None))
    assert "video_1_is_safe" in errors_of(valid_answers(video_1={"is_safe": "perhaps"}))
    assert "video_0_categories" in errors_of(valid_answers(video_0={"is_safe": False, "categories": [3]}))
    assert errors_of(["video_0"]) == {"answers": "Answers must be an object with one entry per question."}


def test_the_html_form_reads_the_same_way():
    form = QueryDict(mutable=True)
    for q in PREFERENCE_QUESTIONS:
        form[q] = "video_1"
    form["video_0_is_safe"], form["video_1_is_safe"] = "false", "true"
    form.setlist("video_0_categories", ["hate", "racism"])
    form["csrfmiddlewaretoken"] = "ignored"
    values = clean_answers(answers_from_form(form))
    assert values["video_0_is_safe"] is False and values["video_1_is_safe"] is True
    assert {k for k, v in values["video_0_labels"].items() if v} == {"hate", "racism"}
    del form["video_1_is_safe"]
    assert "video_1_is_safe" in errors_of(answers_from_form(form))


def test_round_trip_and_gold_grading():
    values = clean_answers(valid_answers())

    class Saved:
        pass

    saved = Saved()
    saved.__dict__.update(values)
    assert judgement_as_answers(saved) == {k: v for k, v in valid_answers().items()}
    assert grade_gold(values, {"harmlessness": "video_1", "video_0_labels": {"violence": True}})
    assert not grade_gold(values, {"helpfulness": "video_1"})
    assert not grade_gold(values, {"video_1_is_safe": False})
