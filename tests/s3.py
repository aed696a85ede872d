"""An S3-compatible server for tests (moto's server mode, a real HTTP endpoint) and media storage in it."""

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import boto3

CREDENTIALS = {"access_key": "test", "secret_key": "test", "region_name": "us-east-1"}


@contextmanager
def s3_server() -> Iterator[str]:
    """Run moto's S3 server on a free local port; yields its endpoint URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url, timeout=0.5)
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait()


def s3_client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=CREDENTIALS["access_key"],
                        aws_secret_access_key=CREDENTIALS["secret_key"], region_name=CREDENTIALS["region_name"])


def use_s3_media(settings, endpoint: str, bucket: str, **options):
    """Create `bucket` and make it the default (media) storage, as S3_BUCKET does in production."""
    client = s3_client(endpoint)
    client.create_bucket(Bucket=bucket)
    point_media_at(settings, endpoint, bucket, **options)
    return client


def point_media_at(settings, endpoint: str, bucket: str, **options) -> None:
    """Make `bucket` at `endpoint` the default (media) storage, without touching the store."""
    settings.S3_BUCKET = bucket
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": bucket, "endpoint_url": endpoint, "default_acl": None, "file_overwrite": False,
                    "querystring_auth": True, **CREDENTIALS, **options}}}
