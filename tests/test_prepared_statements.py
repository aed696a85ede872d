"""Hot statements run prepared on PostgreSQL (safesora.db.fetch_prepared), and the session's user
is read the same way (safesora.auth.UserBackend): still Django's errors, still the live user row."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest

from annotation.assignment import next_assignments, submit_annotation
from safesora.db import fetch_prepared
from tests.factories import make_campaign, make_pairs, make_user, valid_answers

pytestmark = pytest.mark.django_db


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="server-side prepared statements are PostgreSQL's")
def test_claim_and_submit_are_prepared_and_planned_once_per_connection(crowdworker):
    campaign = make_campaign(overlap=1, gold_rate=0)
    campaign.workers.add(crowdworker)
    make_pairs(campaign, 6)
    for _ in range(3):
        lease = next_assignments(crowdworker, count=1)[0]
        submit_annotation(crowdworker, lease.pk, valid_answers(), 1000)
    statements = prepared_statements()
    assert sum("WITH mine AS" in s for s in statements) == 1  # the claim, prepared once for all calls
    assert sum("WITH lease AS" in s for s in statements) == 1  # the submit
    assert any("FROM annotation_campaign c" in s for s in statements)  # the standing
    with connection.cursor() as cursor:  # and planned once: not replanned on every call
        cursor.execute("SELECT current_setting('plan_cache_mode'), generic_plans, custom_plans "
                       "FROM pg_prepared_statements WHERE statement LIKE '%%WITH mine AS%%'")
        mode, generic, custom = cursor.fetchone()
    assert mode == "force_generic_plan"  # settings: DB_PLAN_CACHE_MODE's default
    assert generic == 3 and custom == 0


def test_a_failing_prepared_statement_raises_djangos_error_and_the_transaction_recovers(crowdworker):
    insert = ("INSERT INTO auth_user_groups (user_id, group_id) "
              "SELECT user_id, group_id FROM auth_user_groups WHERE user_id = %(user)s RETURNING id")
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            fetch_prepared(insert, {"user": crowdworker.pk})  # the same (user, group) again: unique
    assert fetch_prepared("SELECT count(*) FROM auth_user_groups WHERE user_id = %(user)s",
                          {"user": crowdworker.pk}) == [(1,)]


def test_the_session_user_is_read_fresh_on_every_request(client):
    worker = make_user("fresh", password="pw-fresh-1")
    assert client.login(request=HttpRequest(), username="fresh", password="pw-fresh-1")
    assert client.get("/annotate/").status_code == 200
    worker.is_active = False
    worker.save()
    response = client.get("/annotate/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get("/api/annotation/status").status_code == 401
