"""Shared Playwright support: Debian's Chromium (never a downloaded browser), pages, log-in, screenshots.

Use the `browser` fixture from tests/conftest.py (one Chromium for the whole run) and `new_page`
for a fresh context. Screenshots go to $SCREENSHOT_DIR (default: `test-screenshots/` in the
repository root, ignored by git); copy the good ones into docs/screenshots/ by hand.
"""

import os
import re
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parent.parent


def screenshot_dir() -> Path:
    path = Path(os.environ.get("SCREENSHOT_DIR") or ROOT / "test-screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_screenshot(page, name: str, *, full_page: bool = False) -> Path:
    """Write `<name>.png` of what the page shows now; returns its path."""
    path = screenshot_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def log_in(page, base_url: str, username: str, password: str, *, lands_on: str = r"/") -> None:
    page.goto(base_url + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(lands_on))
