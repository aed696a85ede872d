"""Failed logins are limited per username and client address, in the shared (Redis) cache."""

import os

import pytest
from django.core.cache import cache

from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def redis_cache(settings):
    url = os.environ.get("TEST_REDIS_URL")
    if url:  # the real shared cache, as in production
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url,
                                       "KEY_PREFIX": "test-login-limit"}}
    settings.LOGIN_ATTEMPTS_LIMIT = 3
    settings.LOGIN_ATTEMPTS_WINDOW = 600
    cache.clear()
    yield
    cache.clear()


def login(client, username, password, address="10.0.0.1", url="/accounts/login/"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_too_many_failures_lock_that_username_from_that_address(client):
    make_user("carol", password="right-password-1")
    for _ in range(3):
        response = login(client, "carol", "wrong")
        assert response.status_code == 200 and "_auth_user_id" not in client.session
    locked = login(client, "carol", "right-password-1")
    assert locked.status_code == 429 and b"Too many failed login attempts" in locked.content
    assert "_auth_user_id" not in client.session  # even the right password is refused now
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


def test_admin_login_is_limited_too(client):
    make_user("root", role=None, staff=True, password="right-password-4")
    for _ in range(3):
        login(client, "root", "wrong", url="/admin/login/")
    response = login(client, "root", "right-password-4", url="/admin/login/")
    assert b"Too many failed login attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_login_form_needs_csrf():
    from django.test import Client

    make_user("frank", password="right-password-5")
    strict = Client(enforce_csrf_checks=True)
    assert login(strict, "frank", "right-password-5").status_code == 403
