"""Failed logins are limited per username (as authentication resolves it) and client address, by
django-axes in the database: the limit holds with Redis down, under parallel attempts, and for
Unicode look-alikes of a username."""

import os
import threading

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from django.test import Client

from tests.factories import make_user

pytestmark = pytest.mark.django_db

LIMIT = 3
FULL_WIDTH_W = "\uff57"  # 'ｗ', NFKC-normalized to 'w'


@pytest.fixture(autouse=True)
def login_limit(settings):
    settings.LOGIN_ATTEMPTS_LIMIT = LIMIT
    settings.LOGIN_ATTEMPTS_WINDOW = 600


def login(client, username, password, address="10.0.0.1", url="/accounts/login/"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_too_many_failures_lock_that_username_from_that_address(client):
    make_user("carol", password="right-password-1")
    for _ in range(LIMIT - 1):
        response = login(client, "carol", "wrong")
        assert response.status_code == 200 and not logged_in(client)
    last = login(client, "carol", "wrong")
    assert last.status_code == 429 and b"Too many failed login attempts. Try again in 10 minutes." in last.content
    locked = login(client, "carol", "right-password-1")
    assert locked.status_code == 429 and not logged_in(client)  # even the right password is refused now
    # Another address, or another username, is not affected.
    assert login(client, "carol", "right-password-1", address="10.0.0.2").status_code == 302
    client.logout()
    make_user("dave", password="right-password-2")
    assert login(client, "dave", "right-password-2").status_code == 302


def test_success_clears_the_count(client):
    make_user("erin", password="right-password-3")
    login(client, "erin", "wrong")
    login(client, "erin", "wrong")
    assert login(client, "erin", "right-password-3").status_code == 302
    client.logout()
    login(client, "erin", "wrong")
    login(client, "erin", "wrong")
    assert login(client, "erin", "right-password-3").status_code == 302


def test_admin_login_answers_429_too(client):
    make_user("root", role=None, staff=True, password="right-password-4")
    for _ in range(LIMIT):
        login(client, "root", "wrong", url="/admin/login/")
    response = login(client, "root", "right-password-4", url="/admin/login/")
    assert response.status_code == 429 and b"Too many failed login attempts" in response.content
    assert not logged_in(client)


def test_site_and_admin_login_share_the_counter(client):
    make_user("grace", role=None, staff=True, password="right-password-6")
    login(client, "grace", "wrong")
    login(client, "grace", "wrong", url="/admin/login/")
    assert login(client, "grace", "wrong").status_code == 429
    assert login(client, "grace", "right-password-6", url="/admin/login/").status_code == 429


def test_unicode_look_alikes_count_against_the_username_they_log_into(client):
    make_user("workerB", password="right-password-7")
    # Authentication resolves the full-width look-alike to workerB: the right password logs in.
    assert login(client, f"{FULL_WIDTH_W}orkerB", "right-password-7").status_code == 302
    client.logout()
    variants = [f"{FULL_WIDTH_W}orkerB", "workerB", "\uff57\uff4f\uff52\uff4b\uff45\uff52\uff22", " workerB "]
    responses = [login(client, variant, "wrong").status_code for variant in variants]
    assert responses == [200] * (LIMIT - 1) + [429] * (len(variants) - LIMIT + 1)
    for variant in variants:
        assert login(client, variant, "right-password-7").status_code == 429
        assert not logged_in(client)
    for variant in variants:
        assert login(client, variant, "right-password-7", url="/admin/login/").status_code == 429


def test_the_limit_holds_with_the_cache_down(client, settings):
    # Nothing listens on port 1: every cache call fails. The counter lives in the database.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    make_user("heidi", password="right-password-8")
    statuses = [login(client, "heidi", "wrong").status_code for _ in range(LIMIT + 1)]
    assert statuses == [200] * (LIMIT - 1) + [429, 429]
    assert login(client, "heidi", "right-password-8").status_code == 429


def test_login_form_needs_csrf():
    make_user("frank", password="right-password-5")
    strict = Client(enforce_csrf_checks=True)
    assert login(strict, "frank", "right-password-5").status_code == 403


class CountingHasher(PBKDF2PasswordHasher):
    """Django's PBKDF2 hasher (fewer rounds, to keep the test short) that counts password checks."""

    iterations = 200_000
    checks = 0
    lock = threading.Lock()

    def verify(self, password, encoded):
        with CountingHasher.lock:
            CountingHasher.checks += 1
        return super().verify(password, encoded)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL")
def test_parallel_attempts_check_no_more_passwords_than_the_limit(settings):
    """24 attempts at once (look-alikes and the plain name) against a limit of 5: at most 5 checked."""
    settings.LOGIN_ATTEMPTS_LIMIT = 5
    settings.PASSWORD_HASHERS = ["tests.test_login_rate_limit.CountingHasher"]
    make_user("workerB", password="right-password-9")
    CountingHasher.checks = 0
    start = threading.Barrier(24)
    statuses: list[int] = []

    def attempt(i: int) -> None:
        try:
            start.wait()
            username = f"{FULL_WIDTH_W}orkerB" if i % 2 else "workerB"
            statuses.append(login(Client(), username, f"wrong-{i}").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) == 24
    assert CountingHasher.checks == 5
    assert statuses.count(200) == 4 and statuses.count(429) == 20  # the fifth failure answers 429
    assert login(Client(), "workerB", "right-password-9").status_code == 429


def test_behind_trusted_proxies_the_forwarded_address_is_the_client(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    make_user("judy", password="right-password-11")

    def attempt(forwarded, password="wrong"):
        return client.post("/accounts/login/", {"username": "judy", "password": password},
                           REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR=forwarded).status_code

    # What the client puts before the proxy's entry changes nothing: the proxy's entry counts.
    assert [attempt(f"{i}.1.1.1, 203.0.113.5") for i in range(LIMIT)] == [200] * (LIMIT - 1) + [429]
    assert attempt("203.0.113.5", "right-password-11") == 429
    assert attempt("203.0.113.6", "right-password-11") == 302  # another client behind the proxy
    client.logout()
    assert attempt("not-an-address") in (200, 429)  # garbage falls back to REMOTE_ADDR, never a 500
