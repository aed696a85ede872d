"""Media goes to any S3-compatible store when S3_BUCKET is set (moto's server stands in for it)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.s3 import s3_client

ROOT = Path(__file__).resolve().parent.parent


PROBE = """
import json, urllib.request, django
django.setup()
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
name = default_storage.save("videos/p/v.mp4", ContentFile(b"fake-bytes-for-a-storage-test"))
with default_storage.open(name) as fh:
    data = fh.read()
url = default_storage.url(name)
print(json.dumps({"name": name, "data": data.decode(), "url": url,
                  "fetched": urllib.request.urlopen(url).read().decode()}))
"""


def test_media_round_trips_through_s3_with_signed_urls(s3_endpoint, tmp_path):
    creds = {"S3_ACCESS_KEY_ID": "test", "S3_SECRET_ACCESS_KEY": "test", "S3_REGION": "us-east-1"}
    s3_client(s3_endpoint).create_bucket(Bucket="media")
    env = {**os.environ, **creds, "S3_BUCKET": "media", "S3_ENDPOINT_URL": s3_endpoint,
           "SAFESORA_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "safesora.settings"}
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["data"] == out["fetched"] == "fake-bytes-for-a-storage-test"
    assert "Signature=" in out["url"] and "Expires=" in out["url"]
    assert not (tmp_path / "media").exists()  # nothing went to local disk
