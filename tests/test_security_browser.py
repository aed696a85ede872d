"""In Chromium, under the Content-Security-Policy and with every other origin blocked: /api/docs
renders every operation from the platform's own Swagger UI files, and the annotation page, the
dashboard and the admin run without a policy violation (log-in included: its cookies are Secure)."""

import re

import pytest

from safesora.api import api
from tests.factories import make_campaign, make_generator, make_pair, make_prompt, make_user, make_video

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
pytest.importorskip("playwright.sync_api")


@pytest.fixture
def page(browser, live_server):
    """A page that may load nothing but the live server, recording CSP violations and script errors."""
    context = browser.new_context(bypass_csp=False)  # the policy as users get it
    page = context.new_page()
    page.outside, page.problems = [], []

    def only_this_site(route):
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            page.outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_site)
    page.on("console", lambda m: page.problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    page.base_url = live_server.url
    yield page
    context.close()


def log_in(page, username, password="pw-for-tests-1", lands_on=r"/"):
    page.goto(page.base_url + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(lands_on))


def test_api_docs_render_every_operation_offline(page):
    operations = sum(len(methods) for methods in api.get_openapi_schema()["paths"].values())
    page.goto(page.base_url + "/api/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    assert page.locator(".opblock").count() == operations
    assert page.locator(".opblock-summary-path").first.inner_text().startswith("/api/")
    assert page.outside == [] and page.problems == []


def test_annotation_dashboard_and_admin_run_under_the_policy(page):
    worker = make_user("worker")
    campaign = make_campaign(overlap=1, gold_rate=0)
    campaign.workers.add(worker)
    prompt = make_prompt()
    make_pair(campaign, prompt=prompt, video_0=make_video(prompt, make_generator(), real=True, seed=1),
              video_1=make_video(prompt, make_generator(), real=True, seed=2))
    log_in(page, "worker", lands_on=r"/annotate/")
    page.wait_for_selector("video")
    page.wait_for_function("() => [...document.querySelectorAll('video')].every(v => v.readyState >= 1)")
    page.context.clear_cookies()

    make_user("boss", role=None, staff=True)
    log_in(page, "boss")
    page.goto(page.base_url + "/dashboard/")
    page.select_option("select[name=campaign]", str(campaign.pk))  # submits itself (autosubmit.js)
    page.wait_for_url(re.compile(rf"campaign={campaign.pk}"))
    page.goto(page.base_url + "/admin/exports/exportrun/")
    page.goto(page.base_url + "/admin/generation/prompt/")
    assert page.outside == [] and page.problems == []
