"""The payment report: per worker and date range, as a page and as CSV; staff only; bad dates 400."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import Annotation, Assignment, AssignmentState
from crowd.models import Enrolment, MarketplaceAccount
from crowd.payments import payment_report, report_csv
from tests.factories import make_annotation, make_campaign, make_pairs, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def work():
    campaign = make_campaign("Paid run", overlap=2)
    pairs = make_pairs(campaign, 4)
    gold = make_pairs(campaign, 2, is_gold=True, gold_answers={"helpfulness": "video_0"})
    ana, ben = make_user("ana"), make_user("prolific-ben")
    MarketplaceAccount.objects.create(user=ben, marketplace="prolific", worker_id="PIDBEN")
    Enrolment.objects.create(user=ben, campaign=campaign, source="prolific", state="working",
                             study_id="STUDY1", session_id="SESS1")
    for pair in pairs[:3]:
        make_annotation(pair, ana, time_spent_ms=30_000)
    make_annotation(pairs[0], ben, time_spent_ms=60_000, default="video_1")
    make_annotation(gold[0], ana, gold_correct=True)
    make_annotation(gold[1], ana, gold_correct=False)
    now = timezone.now()
    Assignment.objects.create(pair=pairs[3], user=ben, state=AssignmentState.SKIPPED, expires_at=now, finished_at=now)
    # Outside the range: last month's work is not paid again.
    old = make_annotation(pairs[1], ben, time_spent_ms=99_000)
    Annotation.objects.filter(pk=old.pk).update(submitted_at=now - timedelta(days=40))
    return campaign


def test_report_counts_what_each_worker_did_in_the_range(work):
    today = timezone.localdate()
    rows = {r.username: r for r in payment_report(today, today)}
    ana, ben = rows["ana"], rows["prolific-ben"]
    assert (ana.submitted, ana.skipped, ana.active_ms) == (5, 0, 90_000)
    assert (ana.gold_answers, ana.gold_correct, ana.gold_accuracy) == (2, 1, 0.5)
    assert (ben.submitted, ben.skipped, ben.active_ms, ben.gold_accuracy) == (1, 1, 60_000, None)
    assert (ben.marketplace, ben.worker_id) == ("prolific", "PIDBEN")
    assert (ben.study_ids, ben.session_ids) == (["STUDY1"], ["SESS1"])
    # pairs[0], the only pair with two answers: the six pairwise questions are 1-1 ties (not
    # compared); both call both videos safe, so each agrees with the majority on 2 of 2.
    assert (ana.agreed, ana.compared, ben.agreed, ben.compared) == (2, 2, 2, 2)
    month_ago = today - timedelta(days=40)
    assert {r.username: r.submitted for r in payment_report(month_ago, month_ago)} == {"prolific-ben": 1}
    assert payment_report(today, today, make_campaign("other")) == []


def test_page_and_csv_for_staff(client, work, staff_user):
    client.force_login(staff_user)
    today = timezone.localdate().isoformat()
    page = client.get("/crowd/payments/")  # defaults: this month so far
    assert page.status_code == 200 and 'data-worker="ana"' in page.content.decode()
    response = client.get("/crowd/payments/", {"start": today, "end": today, "campaign": work.pk, "format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert f'payments-{today}-{today}.csv' in response["Content-Disposition"]
    rows = {r["username"]: r for r in csv.DictReader(io.StringIO(response.content.decode()))}
    assert rows["prolific-ben"]["worker_id"] == "PIDBEN" and rows["prolific-ben"]["pairs_skipped"] == "1"
    assert rows["ana"]["active_seconds"] == "90.0" and rows["ana"]["gold_accuracy"] == "0.5"


@pytest.mark.parametrize("params", [
    {"start": "2026-13-01", "end": "2026-12-01"},
    {"start": "2026-12-02", "end": "2026-12-01"},
    {"start": "2024-01-01", "end": "2026-01-01"},
    {"start": "2026-12-01", "end": "2026-12-01", "campaign": "abc"},
    {"start": "2026-12-01"},
])
def test_bad_ranges_answer_400(client, staff_user, params):
    client.force_login(staff_user)
    response = client.get("/crowd/payments/", params)
    assert response.status_code == 400
    assert 'data-report"' not in response.content.decode()


def test_csv_cells_never_start_a_spreadsheet_formula(db):
    make_annotation(make_pairs(make_campaign(), 1)[0], make_user("=HYPERLINK(1)"))
    today = timezone.localdate()
    rows = list(csv.DictReader(io.StringIO(report_csv(payment_report(today, today)))))
    assert rows[0]["username"] == "'=HYPERLINK(1)"


def test_only_staff(client, crowdworker):
    client.force_login(crowdworker)
    assert client.get("/crowd/payments/").status_code == 403
    assert client.get("/crowd/payments/", {"format": "csv"}).status_code == 403
