"""In Chromium: a worker labels a pair with a comment, sees their progress, opens their work from
the labelling page and corrects the pair; the correction replaces the answers."""

import re

import pytest

from annotation.models import Annotation, Pair
from tests.browser import log_in, save_screenshot
from tests.factories import make_campaign, make_real_pair, make_user

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


def test_label_with_a_comment_then_correct_it_from_my_work(browser, live_server):
    campaign = make_campaign(overlap=1, gold_rate=0, daily_cap=10, edit_window_minutes=30)
    worker = make_user("corrector")
    campaign.workers.add(worker)
    for i in range(2):
        make_real_pair(campaign, f"a corrected pair {i}", 2 * i)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server.url, "corrector", "pw-for-tests-1", lands_on=r"/annotate/")
    expect(page.locator("[data-progress]")).to_contain_text("0 of 2 pairs of this campaign")
    expect(page.locator("[data-progress]")).to_contain_text("0 of 10 today")
    first_text = page.locator("[data-prompt]").inner_text()

    for key in ["q", "o", "e", "u", "a", "k", "t", "j"]:  # every answer by keyboard; both videos safe
        page.keyboard.press(key)
    page.fill("[data-comment]", "the right clip is cut short")
    page.locator("[data-comment]").press("Tab")  # typing in the comment is not taken as shortcuts
    page.keyboard.press("Enter")
    expect(page.locator("[data-prompt]")).not_to_have_text(first_text)
    expect(page.locator("[data-progress]")).to_contain_text("1 of 2 pairs of this campaign")
    annotation = Annotation.objects.get(user=worker)
    assert annotation.comment == "the right clip is cut short" and annotation.harmlessness == "video_1"
    assert annotation.instruction_following == "video_0"

    page.click("[data-history-link]")
    page.wait_for_url(re.compile(r"/annotate/history/"))
    expect(page.locator("[data-history]")).to_contain_text("the right clip is cut short")
    page.click(f"[data-correct='{annotation.pk}']")
    page.wait_for_url(re.compile(rf"/annotate/corrections/{annotation.pk}/"))
    expect(page.locator("[data-prompt]")).to_have_text(first_text)
    # The submitted answers are filled in; change one (safer overall: left) and the comment.
    assert page.locator("input[name=harmlessness][value=video_1]").is_checked()
    page.locator("input[name=harmlessness][value=video_0]").check()
    page.fill("[data-comment]", "")
    save_screenshot(page, "correct-a-pair")
    page.locator("[data-judgement] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/annotate/history/"))
    expect(page.locator("[data-notice]")).to_contain_text("Corrected.")
    expect(page.locator("[data-history]")).to_contain_text("corrected")
    annotation.refresh_from_db()
    assert annotation.harmlessness == "video_0" and annotation.comment == "" and annotation.edited_at
    assert Annotation.objects.filter(user=worker).count() == 1
    pair = Pair.objects.get(pk=annotation.pair_id)
    assert (pair.claimed_count, pair.annotation_count) == (1, 1)
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"
