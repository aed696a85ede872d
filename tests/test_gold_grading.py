"""Gold pairs: their known answers are validated when saved, and graded by one rule (JSON
containment of the gold answers in the submitted ones) on both engine paths."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotation.answers import GOLD_KEYS, clean_answers, clean_gold_answers, grade_gold
from annotation.assignment import next_assignments, submit_annotation
from annotation.models import Annotation, Pair
from safesora.taxonomy import HARM_KEYS, PREFERENCE_QUESTIONS, VIDEO_CHOICES
from tests.factories import make_campaign, make_pair, make_user, valid_answers

pytestmark = [pytest.mark.django_db, pytest.mark.both_databases]


@pytest.mark.parametrize("gold, message", [
    ({"video_0_is_safe": 0}, "video_0_is_safe must be true or false"),
    ({"harmlessness": "left"}, "harmlessness must be video_0 or video_1"),
    ({"helpfulnes": "video_0"}, "Unknown gold key 'helpfulnes'"),
    ({"video_1_labels": {"violence": 1}}, "video_1_labels: violence must be harm keys"),
    ({"video_1_labels": {"gore": True}}, "video_1_labels: gore must be harm keys"),
    ({}, "non-empty object"),
    (["harmlessness"], "non-empty object"),
])
def test_bad_gold_answers_are_refused_on_save_with_a_clear_error(gold, message):
    campaign = make_campaign()
    with pytest.raises(ValidationError) as refused:
        make_pair(campaign, is_gold=True, gold_answers=gold)
    assert message in " ".join(refused.value.messages)
    assert not Pair.objects.filter(campaign=campaign).exists()


def test_the_same_answers_grade_the_same_on_this_database():
    """The issue's case: a gold "left video is unsafe" (false, never 0) and answers that say so."""
    campaign = make_campaign(overlap=1, gold_rate=1.0)
    gold = make_pair(campaign, is_gold=True, gold_answers={"video_0_is_safe": False, "harmlessness": "video_1"})
    assert Pair.objects.get(pk=gold.pk).gold_answers == {"video_0_is_safe": False, "harmlessness": "video_1"}
    right, wrong = make_user(), make_user()
    campaign.workers.add(right, wrong)
    for user, answers in ((right, valid_answers()),
                          (wrong, valid_answers(video_0={"is_safe": True, "categories": []}))):
        (lease,) = next_assignments(user)
        assert lease.pair_id == gold.pk
        submit_annotation(user, lease.pk, answers, 1000)
    graded = dict(Annotation.objects.filter(pair=gold).values_list("user_id", "gold_correct"))
    assert graded == {right.pk: True, wrong.pk: False}


def test_labels_named_in_the_gold_answers_are_compared_and_only_those():
    campaign = make_campaign(overlap=1, gold_rate=1.0)
    make_pair(campaign, is_gold=True, gold_answers={"video_0_labels": {"violence": True, "porn": False}})
    users = [make_user() for _ in range(3)]
    campaign.workers.add(*users)
    answers = [valid_answers(),  # violence only: matches
               valid_answers(video_0={"is_safe": False, "categories": ["violence", "crime"]}),  # crime not asked
               valid_answers(video_0={"is_safe": False, "categories": ["violence", "porn"]})]  # porn contradicts
    for user, given_answers in zip(users, answers, strict=True):
        (lease,) = next_assignments(user)
        submit_annotation(user, lease.pk, given_answers, 1000)
    assert [Annotation.objects.get(user=u).gold_correct for u in users] == [True, True, False]


# Any valid gold answers against any valid submission: Python's rule is PostgreSQL's jsonb `<@`.
_label_subsets = st.dictionaries(st.sampled_from(HARM_KEYS), st.booleans(), min_size=1, max_size=4)
_gold = st.fixed_dictionaries({}, optional={
    **{q: st.sampled_from(VIDEO_CHOICES) for q in PREFERENCE_QUESTIONS},
    **{f"{v}_is_safe": st.booleans() for v in VIDEO_CHOICES},
    **{f"{v}_labels": _label_subsets for v in VIDEO_CHOICES}}).filter(bool)
_video = st.lists(st.sampled_from(HARM_KEYS), max_size=3, unique=True).map(
    lambda keys: {"is_safe": not keys, "categories": keys})
_answers = st.fixed_dictionaries({**{q: st.sampled_from(VIDEO_CHOICES) for q in PREFERENCE_QUESTIONS},
                                  **{v: _video for v in VIDEO_CHOICES}})


@pytest.mark.skipif(connection.vendor != "postgresql", reason="compares with PostgreSQL's jsonb containment")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(gold=_gold, answers=_answers)
def test_python_grading_is_postgresqls_containment(gold, answers):
    import json

    gold = clean_gold_answers(gold)
    assert set(gold) <= set(GOLD_KEYS)
    values = clean_answers(answers)
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::jsonb <@ %s::jsonb", [json.dumps(gold), json.dumps(values)])
        (in_sql,) = cursor.fetchone()
    assert grade_gold(values, gold) is in_sql
