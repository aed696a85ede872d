"""safesora.db.among: "field is one of these values" with one array parameter, for any text."""

import pytest

from annotation.models import Annotation
from generation.models import Prompt
from safesora.db import among
from tests.factories import make_annotation, make_campaign, make_pair


@pytest.mark.django_db
def test_among_matches_exactly_the_values_whatever_their_characters():
    odd = ['quote"d', "back\\slash", "com,ma", "{braces}", "space d", "NULL", "plain"]
    for i, key in enumerate(odd):
        Prompt.objects.create(id=key, text=f"prompt {i}", prompt_type="safety_neutral")
    Prompt.objects.create(id="other", text="not asked for", prompt_type="safety_neutral")
    found = set(Prompt.objects.filter(among(Prompt, "id", odd)).values_list("id", flat=True))
    assert found == set(odd)
    assert not Prompt.objects.filter(among(Prompt, "id", [])).exists()


@pytest.mark.django_db
def test_among_follows_a_foreign_key_to_its_column():
    first, second = make_pair(make_campaign(overlap=1)), make_pair(make_campaign(overlap=1))
    make_annotation(first)
    make_annotation(second)
    assert list(Annotation.objects.filter(among(Annotation, "pair", [second.pk])).values_list("pair_id", flat=True)) \
        == [second.pk]
