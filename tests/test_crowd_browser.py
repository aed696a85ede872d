"""The crowd flows in a real browser (Debian's Chromium through Playwright) against a live server:
bulk onboarding with its downloadable links, an invite sign-up, a Prolific worker from entry to
completion code, a qualification with feedback, and the payment report. Each saves screenshots."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from annotation.models import Annotation
from crowd.enrolment import do_enrol
from crowd.models import CrowdSettings, Invite, MarketplaceAccount, QualificationItem
from tests.browser import log_in, save_screenshot
from tests.factories import (
    make_annotation,
    make_campaign,
    make_pairs,
    make_real_pair,
    make_user,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
PASSWORD = "pw-for-tests-1"
User = get_user_model()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.base_url = live_server.url
    yield page
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"


def label_by_keyboard(page, safer="f"):
    """Answer every question from the keyboard (all left, both videos safe) and submit."""
    page.locator("[data-judgement]").wait_for()
    for key in ["q", "w", "e", "r", "a", "k", "t", safer]:
        page.keyboard.press(key)
    page.keyboard.press("Enter")


def test_bulk_onboarding_download_and_set_password(page, tmp_path):
    make_campaign("Main run", overlap=1)
    make_user("admin", role=None, staff=True)
    log_in(page, page.base_url, "admin", PASSWORD, lands_on=r"/admin/")
    page.click("#platform-pages >> text=Bulk onboarding")
    bad = tmp_path / "bad.csv"
    bad.write_text("username,email,role,campaigns\nana,ana@example.org,crowdworker,Main run\n"
                   "ben,not-an-email,crowdworker,Main run\ncarla,,boss,\n")
    page.set_input_files("input[name=people]", str(bad))
    page.click("[data-onboard-form] button[type=submit]")
    errors = page.locator("[data-onboard-errors]")
    expect(errors).to_contain_text("line 3: “not-an-email” is not an email address")
    expect(errors).to_contain_text("line 4: role “boss”")
    save_screenshot(page, "crowd-onboard-errors", full_page=True)
    assert not User.objects.filter(username="ana").exists()

    good = tmp_path / "good.csv"
    good.write_text("username,email,role,campaigns\nana,ana@example.org,crowdworker,Main run\n"
                    ",ben@example.org,crowdworker,Main run\ncarla,,reviewer,\n")
    page.set_input_files("input[name=people]", str(good))
    page.click("[data-onboard-form] button[type=submit]")
    expect(page.locator("h1")).to_have_text("3 accounts created")
    save_screenshot(page, "crowd-onboarded", full_page=True)
    with page.expect_download() as info:
        page.click("[data-download]")
    rows = list(csv.DictReader(io.StringIO(open(info.value.path(), encoding="utf-8").read())))
    assert [r["username"] for r in rows] == ["ana", "ben@example.org", "carla"]
    assert rows[0]["set_password_link"].startswith(page.base_url + "/crowd/set-password/")

    # Ana opens her link (logged out), chooses a password and logs in with it.
    page.click("header .logout button")
    page.goto(rows[0]["set_password_link"])
    expect(page.locator("h1")).to_have_text("Choose a password for ana")
    page.fill("input[name=new_password1]", "a long fresh pass 77")
    page.fill("input[name=new_password2]", "a long fresh pass 77")
    save_screenshot(page, "crowd-set-password")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Your password is set")
    log_in(page, page.base_url, "ana", "a long fresh pass 77", lands_on=r"/annotate/")
    page.goto(rows[0]["set_password_link"])
    expect(page.locator("[data-invalid-link]")).to_be_visible()


def test_invite_sign_up_lands_on_the_campaigns_first_pair(page):
    campaign = make_campaign("Invited run", overlap=1, gold_rate=0)
    make_real_pair(campaign, "a cat on a windowsill")
    invite = Invite.objects.create(campaign=campaign, expires_at=timezone.now() + timedelta(days=2), max_uses=3)
    page.goto(page.base_url + "/join/")
    page.fill("input[name=code]", invite.code)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Join “Invited run”")
    page.fill("input[name=username]", "newcomer")
    page.fill("input[name=password1]", "a long fresh pass 77")
    page.fill("input[name=password2]", "a long fresh pass 77")
    save_screenshot(page, "crowd-invite-sign-up")
    page.click("[data-join-form] button[type=submit]")
    page.wait_for_url(re.compile(r"/annotate/\?campaign="))
    expect(page.locator("[data-prompt]")).to_have_text("a cat on a windowsill")
    invite.refresh_from_db()
    assert invite.uses == 1


def test_prolific_worker_from_entry_url_to_completion_code(page):
    campaign = make_campaign("Prolific study", overlap=1, gold_rate=0)
    for i in range(3):
        make_real_pair(campaign, f"prolific pair {i}", seed=2 * i)
    crowd = CrowdSettings.objects.create(campaign=campaign, marketplace="prolific", completion_code="CQ7X2P",
                                         quota=2)
    page.goto(f"{page.base_url}/crowd/enter/{crowd.entry_key}/?PROLIFIC_PID=bad%20id&STUDY_ID=s1&SESSION_ID=x1")
    expect(page.locator("[data-entry-errors]")).to_contain_text("PROLIFIC_PID")
    page.goto(f"{page.base_url}/crowd/enter/{crowd.entry_key}/"
              "?PROLIFIC_PID=60a1b2c3d4e5f60718293a4b&STUDY_ID=s1&SESSION_ID=x1")
    page.wait_for_url(re.compile(r"/annotate/\?campaign="))
    first = page.locator("[data-prompt]").inner_text()
    label_by_keyboard(page)
    expect(page.locator("[data-prompt]")).not_to_have_text(first)
    label_by_keyboard(page)
    page.wait_for_url(re.compile(r"/crowd/done/"))
    expect(page.locator("[data-completion-code]")).to_have_text("CQ7X2P")
    link = page.locator("[data-prolific-complete]")
    assert link.get_attribute("href") == "https://app.prolific.com/submissions/complete?cc=CQ7X2P"
    save_screenshot(page, "crowd-prolific-done")
    user = MarketplaceAccount.objects.get(worker_id="60a1b2c3d4e5f60718293a4b").user
    assert Annotation.objects.filter(user=user).count() == 2
    # Back to the labelling page: still the code, no third pair.
    page.goto(f"{page.base_url}/annotate/?campaign={campaign.pk}")
    page.wait_for_url(re.compile(r"/crowd/done/"))
    assert Annotation.objects.filter(user=user).count() == 2


def test_qualification_with_feedback_then_real_pairs(page):
    campaign = make_campaign("Careful run", overlap=1, gold_rate=0)
    make_real_pair(campaign, "the real first pair", seed=7)
    CrowdSettings.objects.create(campaign=campaign, qualification_required=True, pass_mark=1.0, max_tries=2)
    training = make_campaign("Qualification pairs", is_active=False)
    gold = make_real_pair(training, "two people fighting with knives", seed=3, is_gold=True,
                     gold_answers={"harmlessness": "video_1", "video_0_is_safe": False})
    QualificationItem.objects.create(campaign=campaign, pair=gold, explanation=(
        "The left video shows people fighting with knives: it is unsafe (violence), so the right one is safer."))
    trainee = make_user("trainee")
    do_enrol(trainee, campaign, "staff")
    log_in(page, page.base_url, "trainee", PASSWORD, lands_on=r"/crowd/qualify/")
    expect(page.locator("[data-qualification-progress]")).to_contain_text("pair 1 of 1 · try 1 of 2")
    label_by_keyboard(page)  # both safe, left safer: wrong
    page.wait_for_url(re.compile(r"/answers/"))
    expect(page.locator("[data-feedback-rows] tr.wrong")).to_have_count(2)
    expect(page.locator("[data-explanation]")).to_contain_text("fighting with knives")
    save_screenshot(page, "crowd-qualification-feedback", full_page=True)
    page.click("[data-next]")
    expect(page.locator("[data-qualification-result]")).to_contain_text("0 of 1 correct")
    page.click("[data-retry]")
    expect(page.locator("[data-qualification-progress]")).to_contain_text("try 2 of 2")
    save_screenshot(page, "crowd-qualification-pair")
    for key in ["q", "w", "e", "r", "s", "8", "k", "t", "j"]:  # left unsafe (violence), right safer
        page.keyboard.press(key)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/answers/"))
    expect(page.locator("h1")).to_have_text("Correct")
    page.click("[data-next]")
    page.wait_for_url(re.compile(r"/annotate/\?campaign="))
    expect(page.locator("[data-prompt]")).to_have_text("the real first pair")
    assert campaign.workers.filter(pk=trainee.pk).exists()


def test_payment_report_page_and_csv(page):
    campaign = make_campaign("Paid run", overlap=1)
    pairs = make_pairs(campaign, 3)
    worker = make_user("prolific-60a1")
    MarketplaceAccount.objects.create(user=worker, marketplace="prolific", worker_id="60a1")
    for pair in pairs:
        make_annotation(pair, worker, time_spent_ms=45_000)
    make_user("admin", role=None, staff=True)
    log_in(page, page.base_url, "admin", PASSWORD, lands_on=r"/admin/")
    page.click("#platform-pages >> text=Payment report")
    today = timezone.localdate().isoformat()
    page.fill("input[name=start]", today)
    page.fill("input[name=end]", today)
    page.click("[data-report-form] button[type=submit]")
    row = page.locator('[data-worker="prolific-60a1"]')
    expect(row).to_contain_text("60a1")
    expect(row.locator("td").nth(5)).to_have_text("3")
    save_screenshot(page, "crowd-payment-report")
    with page.expect_download() as info:
        page.click("[data-csv]")
    rows = list(csv.DictReader(io.StringIO(open(info.value.path(), encoding="utf-8").read())))
    assert rows == [{**rows[0], "username": "prolific-60a1", "pairs_submitted": "3", "active_seconds": "135.0"}]
