"""The labelling page's layout and synchronized playback, in real Chromium against a live server.

- Both players and the question being answered are in view together, at 1280x720, 1920x1080
  and on a 390-pixel-wide phone; at 390 px nothing overflows and no key badge is cut.
- Two clips of different lengths play in step: the seek bar spans the longer one, the shorter
  holds its last frame, both restart together, and they stay within 0.2 s over three loops.

Screenshots go to test-screenshots/ (tests/browser.py); the best are copied to docs/screenshots/.
"""

import pytest

from tests.browser import log_in, save_screenshot
from tests.factories import make_campaign, make_real_pair, make_user

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

PASSWORD = "pw-for-tests-1"
PROMPT = "a red kite flying over a windy beach at sunset, seen from the dunes"


def wait_until_playable(page):
    page.wait_for_function("""() => {
        const vids = [...document.querySelectorAll('[data-players] video')];
        return vids.length === 2 && vids.every(v => v.readyState >= 2 && !v.error);
    }""", timeout=15000)


# What is in view now: both players whole, and the block of the question that has focus whole,
# below the (sticky) players, inside the window.
IN_VIEW = """() => {
    const el = document.activeElement;
    const h = window.innerHeight, w = window.innerWidth;
    const players = [...document.querySelectorAll('[data-players] [data-player]')].map(p => p.getBoundingClientRect());
    const viewer = document.querySelector('[data-viewer]').getBoundingClientRect();
    const block = (el.closest('fieldset.pairwise, .safe-choice, .categories li, .confirm') || el)
        .getBoundingClientRect();
    return {
        field: el.name || el.textContent.trim().slice(0, 20),
        players: players.every(r => r.top >= -1 && r.bottom <= h + 1 && r.left >= -1 && r.right <= w + 1),
        question: block.top >= viewer.bottom - 1 && block.bottom <= h + 1,
    };
}"""


@pytest.mark.parametrize("width,height", [(1280, 720), (1920, 1080), (390, 844)])
def test_players_and_the_question_being_answered_are_in_view_together(new_page, width, height):
    worker = make_user("lee")
    campaign = make_campaign(overlap=1)
    campaign.workers.add(worker)
    make_real_pair(campaign, PROMPT)
    page = new_page((width, height), **({"is_mobile": True, "has_touch": True} if width < 600 else {}))
    log_in(page, page.base_url, "lee", PASSWORD, lands_on=r"/annotate/")
    wait_until_playable(page)

    # Walk the whole form by Tab, from the first question to the submit button.
    page.locator("[data-prompt]").focus()
    seen, problems = set(), []
    for _ in range(60):
        page.keyboard.press("Tab")
        if not page.evaluate("!!document.activeElement.closest('[data-judgement]')"):
            continue
        view = page.evaluate(IN_VIEW)
        seen.add(view["field"])
        if not (view["players"] and view["question"]):
            problems.append(view)
        if page.evaluate("document.activeElement.matches('button[type=submit]')"):
            break
        if view["field"] == "video_0_categories" and "shot" not in seen:
            seen.add("shot")
            page.keyboard.press("Space")  # tick one, for the screenshot
            save_screenshot(page, f"labelling-{width}x{height}")
            page.keyboard.press("Space")
    assert {"instruction_following", "harmlessness", "video_1_is_safe", "video_1_categories"} <= seen
    assert problems == []

    # Answering by key brings the question into view too (not on a phone: no keyboard there).
    if width >= 600:
        page.locator("[data-prompt]").focus()
        page.evaluate("window.scrollTo(0, 0)")
        page.keyboard.press("j")  # safer overall, the last question
        page.wait_for_timeout(100)
        box = page.locator("fieldset[data-field=harmlessness]").bounding_box()
        assert box["y"] + box["height"] <= height

    if width < 600:
        # Nothing wider than the screen; every key badge is whole, inside its control.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        cut = page.evaluate("""() => [...document.querySelectorAll('#workspace kbd')].filter(k => {
            if (!k.getClientRects().length) return false;  // hidden dialogs
            const r = k.getBoundingClientRect(), c = k.parentElement.getBoundingClientRect();
            return r.left < 0 || r.right > window.innerWidth || r.right > c.right + 1 || r.left < c.left - 1
                || k.scrollWidth > k.clientWidth + 1;
        }).map(k => k.textContent)""")
        assert cut == []
        # Labelling works by touch: tap the choices, submit.
        page.evaluate("window.scrollTo(0, 0)")
        form = page.locator("[data-judgement]")
        for name in ["instruction_following", "correctness", "informativeness", "aesthetics",
                     "helpfulness", "harmlessness"]:
            form.locator(f"input[name={name}][value=video_0] >> xpath=..").tap()
        form.locator("input[name=video_0_is_safe][value=true] >> xpath=..").tap()
        form.locator("input[name=video_1_is_safe][value=true] >> xpath=..").tap()
        save_screenshot(page, "labelling-390-answered")
        form.locator("button[type=submit]").tap()
        expect(page.locator("[data-notice]")).to_contain_text("Saved")
        assert worker.annotations.count() == 1


def test_clips_of_different_lengths_stay_in_step_over_three_loops(new_page):
    worker = make_user("dee")
    campaign = make_campaign(overlap=1)
    campaign.workers.add(worker)
    make_real_pair(campaign, PROMPT, frames=(16, 24))  # left 2 s, right 3 s
    page = new_page((1280, 720))
    log_in(page, page.base_url, "dee", PASSWORD, lands_on=r"/annotate/")
    wait_until_playable(page)
    durations = page.evaluate("[...document.querySelectorAll('[data-players] video')].map(v => v.duration)")
    assert durations == [2.0, 3.0]
    assert float(page.locator("[data-sync-seek]").get_attribute("max")) == 3.0  # the bar spans the longer

    # Measure on every frame: the drift while both run, whether the shorter holds its last
    # frame while the longer finishes, and the restarts of the longer.
    page.evaluate("""() => {
        const [short, long] = document.querySelectorAll('[data-players] video');
        const m = window.__sync = {drift: 0, samples: 0, held: 0, notHeld: [], loops: 0, restartGap: 0};
        let last = 0;
        const tick = () => {
            const a = short.currentTime, b = long.currentTime;
            if (b < last - 1) m.loops++;
            last = b;
            if (!short.seeking && !long.seeking && b > 0.15 && b < short.duration - 0.15) {
                m.drift = Math.max(m.drift, Math.abs(a - b)); m.samples++;
            }
            if (!long.seeking && b > short.duration + 0.2 && b < long.duration - 0.1) {
                if (a >= short.duration - 0.13 && short.paused) m.held++; else m.notHeld.push([a, b]);
            }
            if (m.loops < 3) requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
    }""")
    page.click("[data-sync-play]")
    page.wait_for_function("window.__sync.loops >= 3", timeout=30000)
    result = page.evaluate("window.__sync")
    print(f"sync of 2 s and 3 s clips over 3 loops: max drift {result['drift']:.3f} s over "
          f"{result['samples']} frames; shorter held its last frame in {result['held']} frames")
    assert result["samples"] > 30 and result["held"] > 10
    assert result["notHeld"] == []
    assert result["drift"] < 0.2
    # Still playing together after the third restart.
    page.wait_for_function("[...document.querySelectorAll('[data-players] video')].every(v => !v.paused && "
                           "v.currentTime > 0.2)", timeout=5000)
