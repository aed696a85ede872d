"""safesora.db.read_ahead: reads on a background thread, in order, errors passed on, stops when the caller does."""

import threading

import pytest

from generation.models import Prompt
from safesora.db import read_ahead
from tests.factories import make_prompt


@pytest.mark.django_db(transaction=True)
def test_items_come_in_order_from_another_thread_with_its_own_connection():
    for i in range(5):
        make_prompt(f"prompt {i}")
    here = threading.get_ident()

    def rows():
        for prompt in Prompt.objects.order_by("text"):
            yield prompt.text, threading.get_ident()

    got = list(read_ahead(rows()))
    assert [text for text, _ in got] == [f"prompt {i}" for i in range(5)]
    assert {thread for _, thread in got} != {here}


@pytest.mark.django_db(transaction=True)
def test_an_error_in_the_thread_is_raised_in_the_caller():
    def items():
        yield 1
        raise LookupError("no such batch")

    seen = []
    with pytest.raises(LookupError, match="no such batch"):
        for item in read_ahead(items()):
            seen.append(item)
    assert seen == [1]


@pytest.mark.django_db(transaction=True)
def test_stopping_early_stops_the_thread():
    produced = []

    def items():
        for i in range(1000):
            produced.append(i)
            yield i

    for item in read_ahead(items(), depth=1):
        if item == 2:
            break
    assert len(produced) <= 5  # at most what was queued ahead, not the thousand
    assert not [t for t in threading.enumerate() if t.name == "read-ahead"]


@pytest.mark.django_db
def test_inside_a_transaction_it_is_a_plain_loop():
    make_prompt("uncommitted")  # another connection could not see this row
    texts = list(read_ahead(p.text for p in Prompt.objects.all()))
    assert texts == ["uncommitted"]
