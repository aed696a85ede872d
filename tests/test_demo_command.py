"""`make demo` as a new user meets it: the demo command on SQLite with tasks in-process (its real
path: no DATABASE_URL, no broker), then the site served by runserver and looked at in Chromium.

One demo is built for the module (it generates 36 real videos, labels, exports and trains: a
minute or two on two cores) and run twice, the second run keeping what exists.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.browser import log_in, save_screenshot

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
PEOPLE = {"admin": "admin", "worker": "crowdworker", "worker2": "crowdworker", "worker3": "crowdworker",
          "reviewer": "reviewer"}

# What the database holds after the demo, read in the demo's own environment (its SQLite file).
PROBE = """
import json
import av
from django.conf import settings
from django.contrib.auth import get_user_model
from annotation.models import Annotation, Campaign, Pair
from exports.models import ExportRun
from generation.models import Prompt, Video
from moderation.models import ModerationModel
from safesora.roles import has_role

User = get_user_model()
campaign = Campaign.objects.get(name="Demo campaign")
pairs = Pair.objects.filter(campaign=campaign).select_related("video_0", "video_1")
videos = Video.objects.filter(prompt__source="demo")
decoded = []
for video in videos[:3]:
    with av.open(str(settings.MEDIA_ROOT / video.file.name)) as container:
        stream = container.streams.video[0]
        decoded.append([stream.codec_context.name, stream.codec_context.pix_fmt,
                        sum(1 for _ in container.decode(stream)) == video.num_frames,
                        (settings.MEDIA_ROOT / video.poster.name).exists()])
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "prompts": Prompt.objects.filter(source="demo").count(),
    "critical_prompts": Prompt.objects.filter(source="demo", prompt_type="safety_critical").count(),
    "videos": videos.count(),
    "generators": videos.values("generator").distinct().count(),
    "decoded": decoded,
    "pairs": pairs.count(),
    "pairs_across_generators": all(p.video_0.generator_id != p.video_1.generator_id for p in pairs),
    "workers": sorted(campaign.workers.values_list("username", flat=True)),
    "roles": {u.username: [r for r in ("crowdworker", "reviewer") if has_role(u, r)] + (["admin"] if u.is_staff else [])
              for u in User.objects.all()},
    "usable_password": {u.username: u.has_usable_password() for u in User.objects.all()},
    "annotations_by": {u: Annotation.objects.filter(user__username=u).count() for u in
                       User.objects.values_list("username", flat=True)},
    "complete_pairs": sum(p.is_complete for p in pairs),
    "exports": list(ExportRun.objects.values_list("name", "state")),
    "models": list(ModerationModel.objects.values_list("version", "state", "is_active")),
}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    data = tmp_path_factory.mktemp("demo-data")
    drop = {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "CACHE_URL", "MEDIA_ROOT", "EXPORTS_ROOT",
            "MODERATION_DIR", "STATIC_ROOT", "DJANGO_SETTINGS_MODULE", "DEBUG"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["SAFESORA_DATA_DIR"] = str(data)

    def manage(*args: str, timeout: int = 900) -> str:
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=timeout)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result.stdout

    first = manage("demo", "-v", "0")
    second = manage("demo", "-v", "0")
    facts = json.loads(manage("shell", "-c", PROBE).strip().splitlines()[-1])
    port = _free_port()
    server = subprocess.Popen([sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/accounts/login/", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        yield {"first": first, "second": second, "facts": facts, "url": url, "data": data}
    finally:
        server.terminate()
        server.wait(10)


def credentials(output: str) -> dict[str, str]:
    return dict(re.findall(r"log in as (\S+) / (\S+)", output))


def test_the_demo_runs_on_sqlite_in_process_and_keeps_what_exists(demo):
    facts = demo["facts"]
    assert facts["engine"] == "django.db.backends.sqlite3" and facts["eager"]
    assert facts["prompts"] == 12 and facts["critical_prompts"] > 0
    # Videos from three tiny generators for every bundled prompt, real H.264 files with posters.
    assert facts["videos"] == 36 and facts["generators"] == 3
    assert facts["decoded"] == [["h264", "yuv420p", True, True]] * 3
    assert facts["pairs"] == 12 * 3 and facts["pairs_across_generators"]
    # The second run made nothing new: same annotations, one export, one model.
    assert "simulated annotators: 0 new annotations" in demo["second"]
    assert facts["exports"] == [["demo", "succeeded"]]
    assert facts["models"] == [[1, "ready", False]]
    assert credentials(demo["first"]) == credentials(demo["second"])


def test_three_crowdworkers_a_reviewer_and_an_admin_can_log_in(demo, browser):
    printed = credentials(demo["first"])
    assert set(printed) == set(PEOPLE)
    readme = (ROOT / "README.md").read_text()
    roles = demo["facts"]["roles"]
    for username, role in PEOPLE.items():
        assert role in roles[username]
        assert f"`{username}` / `{printed[username]}`" in readme, f"README lacks {username}'s password"
    assert set(demo["facts"]["workers"]) >= {"worker", "worker2", "worker3"}
    for username in ("worker2", "reviewer"):
        context = browser.new_context()
        page = context.new_page()
        log_in(page, demo["url"], username, printed[username], lands_on=r"/(annotate|review)/")
        context.close()


def test_simulated_annotators_are_named_as_such_and_cannot_log_in(demo, browser):
    facts = demo["facts"]
    simulated = sorted(u for u in facts["roles"] if u.startswith("sim-annotator-"))
    assert simulated == ["sim-annotator-1", "sim-annotator-2", "sim-annotator-3"]
    assert not any(facts["usable_password"][u] for u in simulated)
    assert all(facts["usable_password"][u] for u in PEOPLE)
    # They labelled part of the campaign, and left the rest to the people.
    assert all(facts["annotations_by"][u] == 24 for u in simulated)
    assert all(facts["annotations_by"][u] == 0 for u in PEOPLE)
    assert 0 < facts["complete_pairs"] < facts["pairs"]
    context = browser.new_context()
    page = context.new_page()
    page.goto(demo["url"] + "/accounts/login/")
    page.fill("input[name=username]", "sim-annotator-1")
    page.fill("input[name=password]", "")
    page.click("button[type=submit]")
    assert "/accounts/login/" in page.url
    context.close()


@pytest.fixture
def admin_page(demo, browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    log_in(page, demo["url"], "admin", "admin-demo-pass", lands_on=r"/")
    yield page
    context.close()


def test_the_dashboard_shows_agreement_figures_and_charts(demo, admin_page):
    page = admin_page
    page.goto(demo["url"] + "/dashboard/")
    text = page.inner_text("body")
    assert "72" in text  # annotations by the simulated annotators
    alphas = page.locator("tr[data-question] td:nth-child(2)").all_inner_texts()
    figures = [a for a in alphas if re.fullmatch(r"-?\d\.\d\d", a.strip())]
    assert len(alphas) >= 8 and len(figures) >= 8, f"expected Krippendorff's alpha figures, got {alphas}"
    assert page.locator("svg").count() >= 5
    for name in ("sim-annotator-1", "sim-annotator-2", "sim-annotator-3"):
        assert name in text
    save_screenshot(page, "demo-dashboard", full_page=True)


def test_the_review_queue_has_disputed_pairs(demo, browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    log_in(page, demo["url"], "reviewer", credentials(demo["first"])["reviewer"], lands_on=r"/review/")
    page.goto(demo["url"] + "/review/")
    links = page.locator("table a[href^='/review/']")
    assert links.count() >= 2, page.inner_text("body")
    save_screenshot(page, "demo-review-queue")
    context.close()


def test_the_default_export_holds_pairs_and_the_model_has_a_report(demo, admin_page):
    page = admin_page
    page.goto(demo["url"] + "/admin/exports/exportrun/")
    row = page.locator("#result_list tbody tr").first
    assert "demo" in row.inner_text()
    row.locator("a").first.click()
    page.wait_for_url(re.compile(r"/admin/exports/exportrun/\d+/change/$"))
    page.wait_for_load_state()
    body = page.inner_text("body")
    assert re.search(r"\b24 pairs\b", body), body[:2000]
    assert "0 pairs" not in body
    save_screenshot(page, "demo-export", full_page=True)

    page.goto(demo["url"] + "/admin/moderation/moderationmodel/")
    page.click("text=evaluation report")
    page.wait_for_url(re.compile(r"/report/$"))
    page.wait_for_load_state()
    assert page.locator("#per-category tbody tr").count() == 13
    held_out = re.search(r"Held-out metrics \((\d+) videos\)", page.inner_text("body"))
    assert held_out and int(held_out.group(1)) > 0
    assert page.locator("#summary td.num").count() == 8
    save_screenshot(page, "demo-moderation-report", full_page=True)


def test_a_crowdworker_gets_a_pair_the_simulated_annotators_left(demo, browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    log_in(page, demo["url"], "worker3", credentials(demo["first"])["worker3"], lands_on=r"/annotate/")
    assert page.locator("video:visible").count() == 2
    save_screenshot(page, "demo-labelling")
    context.close()


@pytest.mark.parametrize("model", ["generation/video", "annotation/pair"])
def test_video_and_pair_lists_show_posters_generators_prompts_and_short_ids(demo, browser, model):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    log_in(page, demo["url"], "admin", "admin-demo-pass", lands_on=r"/")
    page.goto(f"{demo['url']}/admin/{model}/")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 36
    first = rows.first
    thumbs = first.locator("img.poster-thumb")
    assert thumbs.count() == (1 if model == "generation/video" else 2)
    page.wait_for_load_state("networkidle")
    assert thumbs.first.evaluate("img => img.complete && img.naturalWidth > 0"), "the poster did not load"
    text = first.inner_text()
    assert re.search(r"tiny-(wan|cogvideox|ltx)", text)
    short = first.locator(".short-id code")
    full = short.get_attribute("title")
    assert len(full) == 64 and short.inner_text() == full[:10] + "…"
    assert first.locator(".short-id button.copy-id").get_attribute("data-copy") == full
    assert first.locator(".clipped").get_attribute("title")  # the prompt, whole on hover
    # Nothing spills past the page: the table fits the content area at 1280 px.
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
    spill = page.evaluate("() => { const r = document.querySelector('#changelist .results');"
                          " return r.scrollWidth - r.clientWidth; }")
    assert spill <= 0, f"the table is {spill}px wider than its column"
    save_screenshot(page, f"demo-admin-{model.split('/')[1]}-list")
    context.close()


def test_starting_an_export_in_the_demo_admin_says_what_it_made(demo, admin_page):
    # The demo has no broker: the export runs in the request, and the page says how it ended.
    page = admin_page
    page.goto(demo["url"] + "/admin/exports/exportrun/add/")
    page.fill("input[name=name]", "from-the-browser")
    page.click("#new-export-form input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/exports/exportrun/$"))
    message = page.locator(".messagelist li").first.inner_text()
    assert re.match(r"Export from-the-browser finished: [1-9]\d* pairs", message), message
    assert "queued" not in message
    save_screenshot(page, "demo-export-finished")
