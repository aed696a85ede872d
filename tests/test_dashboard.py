"""The staff dashboard: progress, agreement, label distributions and annotators, as charts and tables."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from annotation import charts
from tests.factories import make_annotation, make_campaign, make_pair, make_reviewer, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()


@pytest.fixture
def activity():
    main = make_campaign("main run", overlap=2, gold_min_answers=2, gold_min_accuracy=0.8)
    pilot = make_campaign("pilot", overlap=1)
    ann, ben = make_user("ann"), make_user("ben")
    main.workers.add(ann, ben)
    for i in range(3):
        pair = make_pair(main)
        make_annotation(pair, ann, labels_0=["violence"], time_spent_ms=40_000)
        make_annotation(pair, ben, helpfulness="video_1" if i else "video_0", time_spent_ms=20_000)
    make_pair(main)  # not started
    # ben misses both gold pairs: the engine refuses him new pairs.
    for _ in range(2):
        make_annotation(make_pair(main, is_gold=True, gold_answers={"helpfulness": "video_1"},
                                  required_annotations=1), ben, gold_correct=False)
    make_annotation(make_pair(pilot), make_user("carl"), labels_1=["porn"])
    return main, pilot


def test_dashboard_shows_progress_agreement_labels_and_annotators(client, staff_user, activity):
    main, pilot = activity
    client.force_login(staff_user)
    response = client.get(reverse("annotation:dashboard"))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("<svg") == 8  # per day, per campaign, agreement, safety, harm, preference, throughput, gold
    assert 'data-figure="annotations">9<' in page
    assert 'data-figure="complete">4<' in page and "/ 5 pairs complete" in page  # gold pairs left out
    assert f'data-campaign="{main.pk}"' in page and f'data-campaign="{pilot.pk}"' in page
    for key in ("helpfulness", "harmlessness", "is_safe", "violence"):
        assert f'data-question="{key}"' in page
    assert 'data-annotator="ann"' in page and 'data-annotator="ben"' in page
    # Who is refused new pairs, and why, in the engine's words.
    refused = page[page.index("data-refused"):]
    assert 'data-refused-annotator="ben"' in refused and "0%" in refused and "80%" in refused
    assert 'data-refused-annotator="ann"' not in refused
    assert "S8 Violence, Injury, Gory Content" in page

    # One campaign only.
    page = client.get(reverse("annotation:dashboard"), {"campaign": pilot.pk}).content.decode()
    assert 'data-figure="annotations">1<' in page
    assert 'data-annotator="carl"' in page and 'data-annotator="ann"' not in page


def test_dashboard_is_cached_until_something_new_is_annotated(client, staff_user, activity):
    main, pilot = activity
    client.force_login(staff_user)
    url = reverse("annotation:dashboard")
    assert 'data-figure="annotations">9<' in client.get(url).content.decode()
    # A change the cache key does not see (a campaign renamed) shows after "recompute".
    pilot.name = "pilot, renamed"
    pilot.save()
    assert "pilot, renamed</td>" not in client.get(url).content.decode()
    assert "pilot, renamed</td>" in client.get(url, {"refresh": "1"}).content.decode()
    # A new annotation shows at once.
    make_annotation(make_pair(main), make_user("dora"))
    assert 'data-figure="annotations">10<' in client.get(url).content.decode()


def test_dashboard_with_no_data_yet(client, staff_user):
    client.force_login(staff_user)
    response = client.get(reverse("annotation:dashboard"))
    assert response.status_code == 200 and "No annotations yet." in response.content.decode()


def test_dashboard_is_staff_only_and_linked_from_the_admin(client, staff_user):
    url = reverse("annotation:dashboard")
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    for person in (make_user("crowd"), make_reviewer("rev")):
        client.force_login(person)
        assert client.get(url).status_code == 403
    client.force_login(staff_user)
    admin_index = client.get(reverse("admin:index")).content.decode()
    assert f'href="{url}"' in admin_index and f'href="{reverse("annotation:review_queue")}"' in admin_index


def test_charts_escape_labels_and_handle_missing_values():
    svg = charts.bar_chart([("<script>", 3.0), ("nothing", float("nan")), ("below zero", -0.25)], title="t & u")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "t &amp; u" in svg
    assert "n/a" in svg and svg.count("<rect") == 2
    stacked = charts.stacked_bar_chart([("a", (1, 2)), ("b", (0, 0))], ["x", "y"], title="s")
    assert stacked.count("<rect") == 2 + 2  # two parts of "a", two legend swatches
    columns = charts.column_chart([("01-01", 0), ("01-02", 5)], title="c")
    assert columns.count("<rect") == 2 and ">5<" in columns
