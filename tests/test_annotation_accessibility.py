"""The labelling page by keyboard only, and axe-core on every page (issue: WCAG 2.2 AA).

Real Chromium (Playwright) against a live server with real mp4 files. axe-core is vendored in
tests/vendor/axe.min.js (see VENDORED.md there) and injected into each page; nothing is fetched.
"""

import re

import pytest
from django.urls import reverse

from annotation.models import Annotation, WorkerSettings
from tests.browser import ROOT, log_in, save_screenshot
from tests.factories import (
    make_annotation,
    make_campaign,
    make_pair,
    make_real_pair,
    make_reviewer,
    make_user,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

PASSWORD = "pw-for-tests-1"
AXE = ROOT / "tests" / "vendor" / "axe.min.js"
SERIOUS = ("moderate", "serious", "critical")


def active(page, expression: str):
    """`expression` of `el`, the focused element."""
    return page.evaluate(f"(() => {{ const el = document.activeElement; return {expression}; }})()")


def tab_to(page, selector: str, *, shift: bool = False, limit: int = 80) -> int:
    """Press Tab (or Shift+Tab) until the focused element matches `selector`; returns the stops."""
    for stops in range(1, limit + 1):
        page.keyboard.press("Shift+Tab" if shift else "Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return stops
    raise AssertionError(f"{selector} not reached with {limit} presses of Tab; focus is on "
                         f"{active(page, 'el.outerHTML.slice(0, 120)')}")


def playing(page) -> list:
    return page.evaluate("[...document.querySelectorAll('[data-players] video')].map(v => !v.paused)")


def wait_until_playable(page):
    page.wait_for_function("""() => {
        const vids = [...document.querySelectorAll('[data-players] video')];
        return vids.length === 2 && vids.every(v => v.readyState >= 2 && !v.error);
    }""", timeout=15000)


def outline_px(page, expression: str) -> float:
    """Outline width of the element `expression` (of `el`, the focused element), 0 when none."""
    return page.evaluate(f"""(() => {{ const el = document.activeElement; const box = {expression};
        const s = getComputedStyle(box); return s.outlineStyle === 'none' ? 0 : parseFloat(s.outlineWidth); }})()""")


def axe_problems(page) -> list[str]:
    """axe-core's violations of impact moderate or higher on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.map(v => ({id: v.id, impact: v.impact,
            nodes: v.nodes.slice(0, 4).map(n => n.target.join(' '))}));
    }""")
    return [f"{v['id']} ({v['impact']}): {v['nodes']}" for v in found if v["impact"] in SERIOUS]


# --- keyboard ----------------------------------------------------------------------------------


def test_keyboard_only_walk_through_the_labelling_page(new_page):
    worker = make_user("kim")
    campaign = make_campaign(overlap=1)
    campaign.workers.add(worker)
    for i in range(3):
        make_real_pair(campaign, text=f"keyboard pair {i}", seed=2 * i)
    page = new_page((1280, 800))
    log_in(page, page.base_url, "kim", PASSWORD, lands_on=r"/annotate/")
    wait_until_playable(page)
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    form = page.locator("[data-judgement]")

    # A top-level heading; players with names; the muted videos say they have no sound.
    expect(page.locator("h1")).to_have_count(1)
    assert page.evaluate("[...document.querySelectorAll('[data-players] video')].map(v => v.getAttribute('aria-label'))"
                         ) == ["Left video", "Right video"]
    assert page.locator("[data-players] video track[kind=captions]").count() == 2
    expect(page.locator("#no-sound-note")).to_have_text("Played without sound")

    # Space on a radio selects it (the videos stay still); the arrows move within the group.
    tab_to(page, "input[name=instruction_following]")
    page.keyboard.press("Space")
    assert form.locator("input[name=instruction_following][value=video_0]").is_checked()
    assert playing(page) == [False, False]
    # The whole choice shows focus, not only the 13-pixel box.
    assert outline_px(page, "el.closest('.choice')") >= 2
    page.keyboard.press("ArrowRight")
    assert form.locator("input[name=instruction_following][value=video_1]").is_checked()
    assert active(page, "el.value") == "video_1"
    assert page.evaluate("document.querySelector('[data-players] video').currentTime") == 0
    page.keyboard.press("ArrowLeft")
    assert form.locator("input[name=instruction_following][value=video_0]").is_checked()

    # Enter on a radio does not submit (nor show the form's errors).
    page.keyboard.press("Enter")
    page.wait_for_timeout(200)
    assert posts == [] and page.locator("[data-form-errors]").is_hidden()

    # Space on a category checkbox toggles it; the videos stay still.
    tab_to(page, "input[name=video_0_categories]")
    page.keyboard.press("Space")
    assert form.locator("input[name=video_0_categories]").first.is_checked()
    assert outline_px(page, "el.closest('label')") >= 2
    page.keyboard.press("Space")
    assert not form.locator("input[name=video_0_categories]").first.is_checked()
    assert playing(page) == [False, False]

    # Space on the Loop switch toggles it.
    tab_to(page, "[data-sync-loop]", shift=True)
    page.keyboard.press("Space")
    assert not page.locator("[data-sync-loop]").is_checked()
    page.keyboard.press("Space")
    assert page.locator("[data-sync-loop]").is_checked() and playing(page) == [False, False]

    # On a player the page's keys act: Space plays both, again pauses both; → seeks both.
    # (the player itself is a Tab stop; inside it, the browser's own controls keep their keys)
    tab_to(page, "[data-player]", shift=True)
    assert active(page, "el.getAttribute('data-side')") == "video_1"
    assert outline_px(page, "el") >= 3
    page.keyboard.press("Space")
    page.wait_for_function("[...document.querySelectorAll('[data-players] video')].every(v => !v.paused)")
    page.keyboard.press("Space")
    page.wait_for_function("[...document.querySelectorAll('[data-players] video')].every(v => v.paused)")
    before = page.evaluate("document.querySelector('[data-players] video').currentTime")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"document.querySelector('[data-players] video').currentTime > {before} + 0.5")

    # The Guidelines button: Space opens the dialog, at its title; Escape closes it.
    tab_to(page, "[data-open=guidelines]", shift=True)
    page.keyboard.press("Space")
    dialog = page.locator("#guidelines")
    expect(dialog).to_be_visible()
    assert active(page, "el.id") == "guidelines-title"
    assert dialog.evaluate("d => d.scrollTop") == 0
    assert playing(page) == [False, False]
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # With focus on the page: Enter submits; a half-answered pair shows errors for screen readers.
    page.keyboard.press("q")  # letter keys answer wherever the focus is (except in text fields)
    page.locator("[data-prompt]").focus()
    page.keyboard.press("Enter")
    summary = page.locator("[data-form-errors]")
    expect(summary).to_be_visible()
    assert posts == []
    assert active(page, "el.matches('[data-form-errors]')")
    correctness = form.locator("input[name=correctness]").first
    assert correctness.get_attribute("aria-invalid") == "true"
    described = correctness.get_attribute("aria-describedby")
    assert page.locator(f"#{described}").inner_text() == "Choose the left or the right video."
    assert form.locator("input[name=instruction_following]").first.get_attribute("aria-invalid") is None
    # The summary's lines are links to their fields.
    page.keyboard.press("Tab")
    assert active(page, "el.getAttribute('data-goto-field')") == "correctness"
    page.keyboard.press("Enter")
    assert active(page, "el.name") == "correctness"

    # Answer the rest by keys, then Enter on the submit button.
    for key in ["o", "e", "u", "a", "k", "t", "j"]:
        page.keyboard.press(key)
    assert form.locator("input[name=correctness][value=video_1]").is_checked()
    expect(summary).to_be_hidden()  # the errors update as answers come
    assert correctness.get_attribute("aria-invalid") is None
    first_text = page.locator("[data-prompt]").inner_text()
    tab_to(page, "#judgement button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator("[data-prompt]")).not_to_have_text(first_text)
    assert Annotation.objects.filter(user=worker).count() == 1

    # Work resumes at the new prompt, and screen readers hear that a new pair is there.
    page.wait_for_function("document.activeElement && document.activeElement.matches('[data-prompt]')")
    expect(page.locator("#announcer")).to_have_text(re.compile(r"Pair 2 of 3 loaded\. 1 pair done today"))
    # One Tab reaches "Go to the questions", which jumps past the players to the first question.
    page.keyboard.press("Tab")
    assert active(page, "el.hasAttribute('data-goto-questions')")
    page.keyboard.press("Enter")
    assert active(page, "el.name") == "instruction_following"

    # The "Saved" banner goes once this pair shows errors.
    expect(page.locator("[data-notice]")).to_contain_text("Saved")
    page.locator("[data-prompt]").focus()
    page.keyboard.press("Enter")
    expect(page.locator("[data-form-errors]")).to_be_visible()
    expect(page.locator("[data-notice]")).to_have_count(0)

    # "Other" without details is refused before anything is sent; the dialog stays with the reason.
    posts.clear()
    page.keyboard.press("x")
    skip = page.locator("#skip-dialog")
    expect(skip).to_be_visible()
    tab_to(page, "#skip-dialog input[name=reason]", shift=True)
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    assert skip.locator("input[value=other]").is_checked()
    tab_to(page, "#skip-dialog button[type=submit]")
    page.keyboard.press("Enter")
    expect(skip.locator("[data-skip-error]")).to_contain_text("needs details")
    expect(skip).to_be_visible()
    assert posts == [] and active(page, "el.name") == "details"
    assert skip.locator("input[name=details]").get_attribute("aria-invalid") == "true"
    page.keyboard.type("the prompt is in a language I do not read")
    page.keyboard.press("Enter")
    expect(page.locator("[data-notice]")).to_contain_text("Skipped")
    assert worker.assignments.get(state="skipped").skip_reason == "other: the prompt is in a language I do not read"


def test_single_key_shortcuts_can_be_turned_off_and_stay_off(new_page):
    worker = make_user("sam")
    campaign = make_campaign(overlap=1)
    campaign.workers.add(worker)
    make_real_pair(campaign, text="shortcuts setting")
    page = new_page((1280, 800))
    log_in(page, page.base_url, "sam", PASSWORD, lands_on=r"/annotate/")
    form = page.locator("[data-judgement]")

    tab_to(page, "[data-shortcuts-setting]")
    with page.expect_response(re.compile(r"/annotate/settings/shortcuts/")) as response:
        page.keyboard.press("Space")
    assert response.value.status == 204
    assert WorkerSettings.objects.get(user=worker).single_key_shortcuts is False
    page.locator("[data-prompt]").focus()
    page.keyboard.press("q")
    page.keyboard.press("Shift+Slash")
    assert not form.locator("input[name=instruction_following]:checked").count()
    expect(page.locator("#shortcuts")).to_be_hidden()
    expect(page.locator("[data-judgement] kbd").first).to_be_hidden()  # no key badges for keys that do nothing

    # Kept on the server: a new browser (context) has them off too; the controls still work.
    page = new_page((1280, 800))
    log_in(page, page.base_url, "sam", PASSWORD, lands_on=r"/annotate/")
    assert not page.locator("[data-shortcuts-setting]").is_checked()
    page.keyboard.press("q")
    assert not page.locator("input[name=instruction_following]:checked").count()
    page.locator("input[name=instruction_following][value=video_1]").focus()
    page.keyboard.press("Space")
    assert page.locator("input[name=instruction_following][value=video_1]").is_checked()

    # And back on.
    page.locator("[data-shortcuts-setting]").focus()
    with page.expect_response(re.compile(r"/annotate/settings/shortcuts/")):
        page.keyboard.press("Space")
    assert WorkerSettings.objects.get(user=worker).single_key_shortcuts is True
    page.locator("[data-prompt]").focus()
    page.keyboard.press("q")
    assert page.locator("input[name=instruction_following][value=video_0]").is_checked()


def test_shortcut_setting_needs_a_post_from_a_crowdworker(client):
    url = reverse("annotation:shortcut_setting")
    assert client.post(url).status_code == 302  # anonymous: to the login page
    worker = make_user("pat")
    client.force_login(worker)
    assert client.get(url).status_code == 405
    assert client.post(url, HTTP_HX_REQUEST="true").status_code == 204
    assert WorkerSettings.objects.get(user=worker).single_key_shortcuts is False
    assert client.post(url, {"single_key_shortcuts": "on"}).status_code == 302
    assert WorkerSettings.shortcuts_on(worker) is True
    assert WorkerSettings.shortcuts_on(make_user("new")) is True  # no row: the default


# --- axe-core on every page ------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing_moderate_or_worse_on_any_page(new_page, scheme):
    worker = make_user("ana")
    campaign = make_campaign(overlap=3)
    campaign.workers.add(worker)
    make_real_pair(campaign, text="a lighthouse at night")
    # A complete, disputed pair for the review pages and the dashboard.
    disputed = make_pair(campaign)
    for i, side in enumerate(["video_0", "video_1", "video_1"]):
        make_annotation(disputed, make_user(f"sim{i}"), default=side, labels_1=["violence"] if i else ())
    make_reviewer("rev")
    make_user("boss", role=None, staff=True)
    results = {}

    page = new_page(color_scheme=scheme)
    page.goto(page.base_url + "/accounts/login/")
    results["login"] = axe_problems(page)

    log_in(page, page.base_url, "ana", PASSWORD, lands_on=r"/annotate/")
    wait_until_playable(page)
    results["labelling"] = axe_problems(page)
    save_screenshot(page, f"labelling-{scheme}")
    for key, dialog in [("g", "guidelines"), ("Shift+Slash", "shortcuts"), ("x", "skip-dialog")]:
        page.locator("[data-prompt]").focus()
        page.keyboard.press(key)
        expect(page.locator(f"#{dialog}")).to_be_visible()
        results[dialog] = axe_problems(page)
        page.keyboard.press("Escape")
    page.locator("[data-prompt]").focus()
    page.keyboard.press("Enter")  # errors shown
    expect(page.locator("[data-form-errors]")).to_be_visible()
    results["labelling with errors"] = axe_problems(page)
    page.goto(page.base_url + reverse("annotation:history"))
    expect(page.locator("h1")).to_be_visible()
    results["history"] = axe_problems(page)

    page = new_page(color_scheme=scheme)
    log_in(page, page.base_url, "rev", PASSWORD, lands_on=r"/review/")
    results["review queue"] = axe_problems(page)
    page.goto(page.base_url + reverse("annotation:review_pair", args=[disputed.pk]))
    results["review pair"] = axe_problems(page)

    page = new_page((1400, 900), color_scheme=scheme)
    log_in(page, page.base_url, "boss", PASSWORD, lands_on=r"/admin/")
    page.goto(page.base_url + reverse("annotation:dashboard"))
    results["dashboard"] = axe_problems(page)
    # Every chart has a text alternative tied to the table with its numbers.
    charts = page.locator("svg.chart")
    assert charts.count() >= 6
    for i in range(charts.count()):
        chart = charts.nth(i)
        assert chart.get_attribute("role") == "img" and chart.get_attribute("aria-label")
        table_id = chart.get_attribute("aria-describedby")
        assert table_id and page.locator(f"table#{table_id}").count() == 1, chart.get_attribute("aria-label")
    save_screenshot(page, f"dashboard-{scheme}", full_page=True)

    assert results == {name: [] for name in results}


def test_safer_overall_says_safer_and_the_site_has_a_favicon(client):
    worker = make_user("fay")
    campaign = make_campaign(overlap=1)
    campaign.workers.add(worker)
    make_pair(campaign)
    client.force_login(worker)
    page = client.get(reverse("annotation:annotate")).content.decode()
    safer = page[page.index('data-field="harmlessness"'):]
    safer = safer[:safer.index("</fieldset>")]
    assert "Left safer" in safer and "Right safer" in safer and "better" not in safer.split("</strong>")[-1]
    assert 'rel="icon"' in page and "favicon.svg" in page
    icon = client.get("/favicon.ico")
    assert icon.status_code == 301 and icon["Location"].endswith("safesora/favicon.svg")
