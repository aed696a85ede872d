"""The engine's statements are visible to Django's instrumentation (execute_wrapper,
CaptureQueriesContext, APM hooks), their number per next and per submit is fixed, and its SQL
names only tables and columns the models have."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotation import assignment
from tests.factories import make_campaign, make_pairs, make_user, valid_answers

pytestmark = [pytest.mark.django_db, pytest.mark.both_databases]

# Statements per call. PostgreSQL: the standing, then one claim statement; one submit statement.
# SQLite (the demo's ORM path): the standing, then the claim's reads, conditional updates and
# inserts inside a transaction (one slot here); the submit reads the lease, then updates and inserts.
EXPECTED = {"postgresql": {"next": 2, "submit": 1}, "sqlite": {"next": 7, "submit": 5}}


def engine_statements(captured) -> list[str]:
    """The statements sent, less the savepoints of the test's own transaction (absent in autocommit)."""
    sqls = [q["sql"] if isinstance(q, dict) else q for q in getattr(captured, "captured_queries", captured)]
    return [s for s in sqls if "SAVEPOINT" not in s]


def test_statements_per_next_and_per_submit_are_counted_and_fixed():
    campaign = make_campaign(overlap=1, gold_rate=0)
    make_pairs(campaign, 4)
    worker = make_user()
    campaign.workers.add(worker)
    seen = []

    def record(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    expected = EXPECTED[connection.vendor]
    for _ in range(2):  # the first call and a warm one cost the same
        assignment._last_sweep_at = timezone.now()  # the periodic sweep is its own statements
        with CaptureQueriesContext(connection) as claimed, connection.execute_wrapper(record):
            (lease,) = assignment.next_assignments(worker)
        with CaptureQueriesContext(connection) as submitted:
            assignment.submit_annotation(worker, lease.pk, valid_answers(), 1000)
        statements, submits = engine_statements(claimed), engine_statements(submitted)
        assert len(statements) == expected["next"], statements
        assert len(submits) == expected["submit"], submits
        assert len(engine_statements(seen)) == expected["next"]
        seen.clear()
    if connection.vendor == "postgresql":  # logged with their values, as Django logs any statement
        assert "FROM annotation_campaign c" in statements[0] and f"w.user_id = {worker.pk}" in statements[0]
        assert "WITH mine AS" in statements[1]
        assert "WITH lease AS" in submits[0] and f"a.id = {lease.pk}" in submits[0]


def test_sql_naming_an_unknown_column_fails_when_built():
    assert "annotation_pair p" in assignment._sql("SELECT p.claimed_count FROM {pair} p")
    with pytest.raises(ImproperlyConfigured, match="annotation_pair.claimed"):
        assignment._sql("SELECT p.claimed FROM {pair} p")
    with pytest.raises(ImproperlyConfigured, match="annotation_assignment.owner_id"):
        assignment._sql("INSERT INTO {assignment} (pair_id, owner_id) VALUES (1, 2)")
