"""The cache (login counters, sessions) is Redis when CACHE_URL is set, else per-process memory
with database sessions; beat releases expired leases."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.core.cache import cache
from importlib import import_module
cache.set("probe-key", 41)
store = import_module(settings.SESSION_ENGINE).SessionStore()
store["n"] = 1
store.save()
print(json.dumps({
    "cache": settings.CACHES["default"]["BACKEND"],
    "sessions": settings.SESSION_ENGINE,
    "incr": cache.incr("probe-key"),
    "session_found": import_module(settings.SESSION_ENGINE).SessionStore(store.session_key).get("n"),
    "beat": sorted(v["task"] for v in settings.CELERY_BEAT_SCHEDULE.values()),
}))
cache.delete("probe-key")
"""


def probe(tmp_path, **env):
    unset = {"CACHE_URL", "REDIS_URL", "SAFESORA_DATA_DIR", "DATABASE_URL"}
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    clean.update(SAFESORA_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="safesora.settings", **env)
    subprocess.run([sys.executable, "manage.py", "migrate", "sessions", "-v", "0"], cwd=ROOT, env=clean, check=True)
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_without_a_cache_url_memory_cache_and_database_sessions(tmp_path):
    out = probe(tmp_path)
    assert out["cache"].endswith("LocMemCache") and out["sessions"].endswith("backends.db")
    assert out["incr"] == 42 and out["session_found"] == 1
    assert out["beat"] == ["annotation.tasks.release_expired_leases"]


def test_with_a_cache_url_redis_cache_and_cached_sessions(tmp_path):
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    out = probe(tmp_path, CACHE_URL=url)
    assert out["cache"] == "django_redis.cache.RedisCache" and out["sessions"] == "safesora.sessions"
    assert out["incr"] == 42 and out["session_found"] == 1
