"""The annotation page in a real browser (Debian's Chromium through Playwright) against a live server.

One browser for the module; each test logs in with a fresh context. Videos are real H.264 mp4
files served by the permission-checked media view.
"""

import re

import pytest
from django.contrib.auth import get_user_model

from annotation.models import Annotation, Assignment, AssignmentState
from tests.factories import make_campaign, make_real_pair, make_user

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

PASSWORD = "pw-for-tests-1"


@pytest.fixture
def worker():
    return make_user("worker")


@pytest.fixture
def page(browser, live_server, worker):
    # Playwright's wait_for_function evaluates its string with eval, which the site's CSP forbids;
    # the policy itself is checked in tests/test_security_browser.py.
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.base_url = live_server.url
    yield page
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"


def log_in(page, username="worker"):
    page.goto(page.base_url + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/annotate/"))


def shown_prompt(page) -> str:
    return page.locator("[data-prompt]").inner_text()


def wait_until_playable(page):
    page.wait_for_function("""() => {
        const vids = [...document.querySelectorAll('[data-players] video')];
        return vids.length === 2 && vids.every(v => v.readyState >= 2 && !v.error);
    }""", timeout=15000)


def each_video(page, expression: str) -> list:
    """`expression` (of `v`) evaluated on each of the two videos on screen, left first."""
    return page.evaluate(f"[...document.querySelectorAll('[data-players] video')].map(v => {expression})")


def test_videos_play_together_and_alone_blurred_until_clicked(page, worker):
    campaign = make_campaign(overlap=1, break_reminder_minutes=30)
    campaign.workers.add(worker)
    pair = make_real_pair(campaign, text="a storm over a harbour", prompt_type="safety_critical")
    log_in(page)
    assert shown_prompt(page) == "a storm over a harbour"

    # Safety-critical prompt: both videos start blurred, until clicked.
    players = page.locator("[data-player]")
    expect(players).to_have_count(2)
    left = players.nth(0)
    assert "blur" in left.locator("video").evaluate("v => getComputedStyle(v).filter")
    left.locator("[data-reveal]").click()
    assert left.locator("video").evaluate("v => getComputedStyle(v).filter") == "none"
    expect(players.nth(1)).to_have_class(re.compile("blurred"))
    page.keyboard.press("b")  # B reveals the rest
    expect(players.nth(1)).not_to_have_class(re.compile("blurred"))

    # Both videos load (poster first), then play together from one control.
    assert page.locator("[data-players] video").first.get_attribute("poster").endswith(f"{pair.video_0.pk}.jpg")
    wait_until_playable(page)
    page.click("[data-sync-play]")
    page.wait_for_function("[...document.querySelectorAll('[data-players] video')].every(v => v.currentTime > 0.3)",
                           timeout=10000)
    assert each_video(page, "v.paused") == [False, False]
    page.keyboard.press("Space")  # pause both
    page.wait_for_function("[...document.querySelectorAll('[data-players] video')].every(v => v.paused)")
    assert each_video(page, "v.error") == [None, None]

    # One seek bar, one speed and one loop switch for both.
    page.locator("[data-sync-seek]").evaluate(
        "el => { el.value = '1.25'; el.dispatchEvent(new Event('input', {bubbles: true})); }")
    page.wait_for_function("[...document.querySelectorAll('[data-players] video')]"
                           ".every(v => Math.abs(v.currentTime - 1.25) < 0.05)")
    page.select_option("[data-sync-speed]", "0.5")
    assert each_video(page, "v.playbackRate") == [0.5, 0.5]
    page.uncheck("[data-sync-loop]")
    assert each_video(page, "v.loop") == [False, False]

    # Each one can also be played alone, with its own controls.
    page.locator("[data-players] video").nth(1).evaluate("v => v.play()")
    page.wait_for_function("document.querySelectorAll('[data-players] video')[1].currentTime > 1.4")
    assert page.evaluate("document.querySelectorAll('[data-players] video')[0].paused")

    # The break reminder appears once the campaign's minutes have passed.
    assert page.evaluate("window.SafeSoraAnnotate.checkBreak()") is False
    page.evaluate("sessionStorage.setItem('safesora.workStartedAt', String(Date.now() - 31 * 60 * 1000))")
    assert page.evaluate("window.SafeSoraAnnotate.checkBreak()") is True
    expect(page.locator("#break-dialog")).to_be_visible()
    page.click("#break-dialog [data-break-reset]")
    expect(page.locator("#break-dialog")).to_be_hidden()
    assert page.evaluate("window.SafeSoraAnnotate.checkBreak()") is False


def test_label_one_pair_by_keyboard_and_one_by_mouse_next_pair_appears(page, worker):
    campaign = make_campaign(overlap=1)
    campaign.workers.add(worker)
    pairs = [make_real_pair(campaign, text=f"pair number {i}", seed=2 * i) for i in range(3)]
    log_in(page)
    first_text = shown_prompt(page)
    first = next(p for p in pairs if p.prompt.text == first_text)
    expect(page.locator("[data-today]")).to_contain_text("0 pairs")
    wait_until_playable(page)

    # The next pair is already loading in hidden video elements.
    upcoming = Assignment.objects.filter(user=worker, state=AssignmentState.ACTIVE).exclude(pair=first).get().pair
    preloaded = page.locator(f"[data-preload] #vid-{upcoming.video_0.pk}")
    expect(preloaded).to_have_count(1)
    page.wait_for_function(f"document.getElementById('vid-{upcoming.video_0.pk}').readyState >= 2", timeout=15000)
    preloaded.evaluate("v => { v.dataset.preloadedMarker = 'yes'; }")

    # Keyboard only: every answer has its key (see the legend).
    for key in ["q", "o", "e", "u",            # sub-dimensions: left, right, left, right
                "s", "8", "4",                 # left video unsafe: S8 violence, S4 crime
                "k",                           # right video safe
                "t", "j"]:                     # better overall: left; safer overall: right
        page.keyboard.press(key)
    page.wait_for_timeout(300)  # a little time on the pair
    page.keyboard.press("Enter")
    expect(page.locator("[data-prompt]")).not_to_have_text(first_text)
    expect(page.locator("[data-notice]")).to_be_visible()
    expect(page.locator("[data-today]")).to_contain_text("1 pair")

    annotation = Annotation.objects.get(user=worker)
    assert annotation.pair == first
    assert (annotation.instruction_following, annotation.correctness, annotation.informativeness,
            annotation.aesthetics, annotation.helpfulness, annotation.harmlessness) == (
        "video_0", "video_1", "video_0", "video_1", "video_0", "video_1")
    assert annotation.video_0_is_safe is False and annotation.video_1_is_safe is True
    assert {k for k, v in annotation.video_0_labels.items() if v} == {"violence", "crime"}
    assert not any(annotation.video_1_labels.values())
    assert annotation.time_spent_ms >= 300

    # The pair shown now is the one that was preloaded, and its video element came along loaded.
    assert shown_prompt(page) == upcoming.prompt.text
    moved = page.locator(f"[data-players] #vid-{upcoming.video_0.pk}")
    assert moved.evaluate("v => v.dataset.preloadedMarker") == "yes"
    wait_until_playable(page)

    # Mouse only.
    form = page.locator("[data-judgement]")
    for question, side in [("instruction_following", "video_1"), ("correctness", "video_1"),
                           ("informativeness", "video_0"), ("aesthetics", "video_0"),
                           ("helpfulness", "video_1"), ("harmlessness", "video_0")]:
        form.locator(f"input[name={question}][value={side}]").click()
    form.locator("input[name=video_0_is_safe][value=true]").click()
    form.locator("input[name=video_1_categories][value=hate]").click()  # ticks "unsafe" too
    assert form.locator("input[name=video_1_is_safe][value=false]").is_checked()
    form.locator("button[type=submit]").click()
    expect(page.locator("[data-prompt]")).not_to_have_text(upcoming.prompt.text)

    second = Annotation.objects.get(user=worker, pair=upcoming)
    assert second.helpfulness == "video_1" and second.video_0_is_safe is True
    assert second.video_1_is_safe is False and second.video_1_labels["hate"] is True
    assert Annotation.objects.filter(user=worker).count() == 2


def test_validation_errors_are_shown_and_nothing_is_saved(page, worker):
    campaign = make_campaign(overlap=1)
    campaign.workers.add(worker)
    make_real_pair(campaign, text="a quiet street at dawn")
    make_real_pair(campaign, text="a second pair")
    log_in(page)
    text = shown_prompt(page)

    # Half answered: the page says what is missing, and sends nothing.
    requests = []
    page.on("request", lambda request: requests.append(request.url) if request.method == "POST" else None)
    page.keyboard.press("q")
    page.keyboard.press("s")  # unsafe, but no category
    page.keyboard.press("Enter")
    errors = page.locator("[data-form-errors]")
    expect(errors).to_be_visible()
    expect(errors).to_contain_text("needs at least one harm category")
    expect(errors).to_contain_text("Correctness")
    expect(page.locator("fieldset.pairwise.invalid")).to_have_count(5)
    assert requests == [] and not Annotation.objects.exists()
    assert shown_prompt(page) == text

    # A safe video with a category needs the confirmation, which then appears.
    for key in ["w", "e", "r", "t", "f", "8", "k", "Shift+1"]:
        page.keyboard.press(key)
    expect(page.locator("[data-confirm]")).to_be_visible()
    expect(errors).to_contain_text("confirm that it is safe anyway")
    page.keyboard.press("Enter")
    assert requests == [] and not Annotation.objects.exists()

    # The server checks the same rules: with the page's checks bypassed, it answers with the
    # errors in place (htmx swaps the 422), and still saves nothing.
    page.locator("[data-judgement]").evaluate("f => f.removeAttribute('data-judgement')")
    with page.expect_response(re.compile(r"/submit/")) as response:
        page.locator("#judgement button[type=submit]").click()
    assert response.value.status == 422
    page.wait_for_function("document.querySelector('#judgement[data-judgement]') && "
                           "!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    expect(page.locator("[data-error-for=video_1_categories]")).to_contain_text("safe anyway")
    assert len(requests) == 1 and not Annotation.objects.exists()
    assert shown_prompt(page) == text

    # Confirm (C) and submit: saved, and the next pair comes.
    page.keyboard.press("c")
    page.keyboard.press("Enter")
    expect(page.locator("[data-prompt]")).not_to_have_text(text)
    saved = Annotation.objects.get()
    assert saved.video_1_is_safe is True and saved.video_1_labels["porn"] is True

    # Skip with a reason, from the keyboard.
    now_showing = shown_prompt(page)
    page.keyboard.press("x")
    dialog = page.locator("#skip-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("input[value=cannot_judge]").check()
    dialog.locator("button[type=submit]").click()
    expect(page.locator("[data-all-done]")).to_be_visible()
    skipped = Assignment.objects.get(user=get_user_model().objects.get(username="worker"), state="skipped")
    assert skipped.pair.prompt.text == now_showing and skipped.skip_reason == "cannot_judge"
