import os

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.factories import make_user
from tests.s3 import s3_server


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Every test writes media into its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FEATURE_CACHE_DIR = tmp_path / "features"  # the per-clip feature cache too
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests make many accounts: PBKDF2's iterations cost 0.4 s per account here and test nothing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff_user(db):
    return make_user("staff", role=None, staff=True)


@pytest.fixture
def crowdworker(db):
    return make_user("alice")


@pytest.fixture
def other_crowdworker(db):
    return make_user("bob")


@pytest.fixture(scope="session")
def s3_endpoint():
    """A local S3-compatible endpoint (moto's server), shared by the tests that store media in S3."""
    with s3_server() as url:
        yield url


class TestBrowser:
    """The browser, whose contexts skip the Content-Security-Policy unless asked (`bypass_csp=False`).

    Test tooling runs script the policy forbids (Playwright's wait_for_function, axe-core injected
    inline); tests/test_security_browser.py checks the pages under the policy itself.
    """

    def __init__(self, browser):
        self._browser = browser

    def new_context(self, **options):
        options.setdefault("bypass_csp", True)
        return self._browser.new_context(**options)

    def __getattr__(self, name):
        return getattr(self._browser, name)


@pytest.fixture(scope="session")
def browser():
    """One Debian Chromium for the whole run (Playwright); tests open their own contexts."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed")
    # Playwright's sync API keeps an asyncio loop in this thread; Django refuses ORM calls from a
    # thread with a running loop unless told it is safe, which it is here (tests, no async code).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield TestBrowser(browser)
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(browser, live_server):
    """`new_page(viewport=(w, h), **context options)`: a page in a fresh context of the live server
    (`page.base_url`); any JavaScript error on any of them fails the test."""
    contexts, errors = [], []

    def make(viewport=(1280, 720), **options):
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, **options)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.base_url = live_server.url
        return page

    yield make
    for context in contexts:
        context.close()
    assert errors == [], f"JavaScript errors: {errors}"
