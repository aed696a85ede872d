"""Settings come from the environment; with nothing set, the embedded default works."""

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
from django.core.files.storage import storages
from safesora.celery import app
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "name": str(settings.DATABASES["default"]["NAME"]),
    "eager": app.conf.task_always_eager,
    "broker": app.conf.broker_url,
    "storage": type(storages["default"]).__name__,
    "debug": settings.DEBUG,
    "hosts": settings.ALLOWED_HOSTS,
    "secret": settings.SECRET_KEY,
    "db_options": settings.DATABASES["default"].get("OPTIONS", {}),
}))
"""


def probe(tmp_path, **env):
    clean = {k: v for k, v in os.environ.items()
             if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "S3_BUCKET", "SECRET_KEY", "DEBUG",
                          "ALLOWED_HOSTS", "SAFESORA_DATA_DIR", "MEDIA_ROOT", "DB_PLAN_CACHE_MODE"}}
    clean.update(SAFESORA_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="safesora.settings", **env)
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True)
    return result


def test_nothing_set_gives_sqlite_in_process_tasks_and_local_media(tmp_path):
    out = json.loads(probe(tmp_path).stdout)
    assert out["engine"] == "django.db.backends.sqlite3"
    assert out["name"] == str(tmp_path / "db.sqlite3")
    assert out["eager"] is True
    assert out["storage"] == "FileSystemStorage"
    assert out["debug"] is False
    assert "localhost" in out["hosts"]
    # A random secret is created once and kept in the data folder, never a constant in the code.
    assert out["secret"] == (tmp_path / "secret_key").read_text().strip()
    assert json.loads(probe(tmp_path).stdout)["secret"] == out["secret"]


def test_production_settings_from_environment(tmp_path):
    out = json.loads(probe(
        tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:5432/somedb", CELERY_BROKER_URL="redis://127.0.0.1:6379/3",
        S3_BUCKET="videos", S3_ENDPOINT_URL="http://127.0.0.1:9000", SECRET_KEY="from-env", DEBUG="true",
        ALLOWED_HOSTS="label.example.org").stdout)
    assert out["engine"] == "django.db.backends.postgresql"
    assert out["name"] == "somedb"
    assert out["eager"] is False and out["broker"] == "redis://127.0.0.1:6379/3"
    assert out["storage"] == "S3Storage"
    assert out["secret"] == "from-env" and out["debug"] is True
    assert out["hosts"] == ["label.example.org"]
    assert out["db_options"]["options"] == "-c plan_cache_mode=force_generic_plan"


def test_the_plan_cache_mode_can_be_left_to_the_server(tmp_path):
    """Behind a pooler that drops startup options, the mode is set on the role instead."""
    out = json.loads(probe(tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:5432/somedb",
                           DB_PLAN_CACHE_MODE="").stdout)
    assert "options" not in out["db_options"]


def test_a_malformed_variable_is_a_clear_error(tmp_path):
    result = probe(tmp_path, DEBUG="perhaps")
    assert result.returncode != 0
    assert "DEBUG must be true or false, got 'perhaps'" in result.stderr
