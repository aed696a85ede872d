"""Every process knows every task by name, so in-process runs never fall back to a broker."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import json, sys, django
django.setup()
from django.conf import settings
from safesora.celery import app
print(json.dumps({"hook_tasks": [n in app.tasks for n in settings.VIDEO_CREATED_TASKS],
                  "generation": "generation.run_jobs" in app.tasks,
                  "torch_imported": "torch" in sys.modules}))
"""


def test_a_fresh_process_has_the_hook_tasks_registered_without_importing_torch(tmp_path):
    env = {**os.environ, "SAFESORA_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "safesora.settings"}
    env.pop("CELERY_BROKER_URL", None)
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["hook_tasks"] and all(out["hook_tasks"])
    assert out["generation"] is True
    assert out["torch_imported"] is False  # the web server stays light
