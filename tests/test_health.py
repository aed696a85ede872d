"""GET /health/ reports the database, the cache, the Celery broker and the media storage, each by
name (django-health-check); the compose file's healthchecks use it."""

import os
from pathlib import Path

import pytest
import yaml
from django.test import Client

pytestmark = pytest.mark.django_db

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/1")
DEAD = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
def services(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                                   "KEY_PREFIX": "test-health"}}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = REDIS_URL
    return settings


def report(url: str = "/health/?format=json"):
    response = Client().get(url)
    return response.status_code, {name.split("(")[0]: status for name, status in response.json().items()}


def test_every_service_is_reported_ok(services, media_root):
    status, checks = report()
    assert status == 200
    assert checks == {"Database": "OK", "Cache": "OK", "Broker": "OK", "Storage": "OK"}
    assert not list(Path(media_root).rglob("*.txt"))  # the storage probe cleans up after itself


def test_a_dead_cache_is_reported_and_fails_the_check(services):
    services.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": DEAD}}
    status, checks = report()
    assert status == 500
    assert checks["Cache"] != "OK" and checks["Database"] == checks["Broker"] == checks["Storage"] == "OK"


def test_a_dead_broker_is_reported_without_its_url(services):
    services.CELERY_BROKER_URL = "redis://:secret-password@127.0.0.1:1/0"
    response = Client().get("/health/?format=text")
    assert response.status_code == 500
    assert "Broker(): Unavailable: The Celery broker cannot be reached." in response.text
    assert "secret-password" not in response.text and "Database" in response.text


def test_unwritable_storage_is_reported(services, settings, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the media folder should be")
    settings.MEDIA_ROOT = blocked
    status, checks = report()
    assert status == 500 and checks["Storage"] != "OK" and checks["Database"] == "OK"


def test_health_is_not_redirected_to_https(services, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert Client().get("/health/?format=json").status_code == 200
    assert Client().get("/accounts/login/").status_code == 301


def test_compose_healthchecks_use_the_health_endpoint():
    spec = yaml.safe_load((Path(__file__).resolve().parent.parent / "docker-compose.yml").read_text())
    services = spec["services"]
    assert "/health/" in " ".join(services["web"]["healthcheck"]["test"])
    for name in ("cpu-worker", "gpu-worker", "beat"):
        assert "health_check" in " ".join(services[name]["healthcheck"]["test"])
    assert services["postgres"]["healthcheck"] and services["redis"]["healthcheck"]
