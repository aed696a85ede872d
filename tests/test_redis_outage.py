"""With the cache's Redis down, people keep working: pages, login, logout and labelling run from
PostgreSQL, and a session ended during the outage stays ended when Redis comes back with its data.

A private redis-server on a spare port (with an append-only file, so it comes back with what it
held); the shared one is never touched.
"""

import json
import shutil
import socket
import subprocess
import time

import pytest
import redis
from django.test import Client

from tests.factories import make_campaign, make_pairs, make_user

pytestmark = pytest.mark.django_db

PASSWORD = "outage-pass-1"
ANSWERS = {"instruction_following": "video_0", "correctness": "video_1", "informativeness": "video_0",
           "aesthetics": "video_1", "helpfulness": "video_0", "harmlessness": "video_1",
           "video_0": {"is_safe": False, "categories": ["violence"]}, "video_1": {"is_safe": True, "categories": []}}


def spare_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    def __init__(self, folder):
        self.folder, self.port, self.process = folder, spare_port(), None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
             "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def keys(self) -> list[bytes]:
        return redis.Redis(port=self.port).keys("*cached_db*")


@pytest.fixture
def private_redis(tmp_path, settings):
    server = PrivateRedis(tmp_path)
    server.start()
    settings.CACHES = {"default": {
        "BACKEND": "django_redis.cache.RedisCache", "LOCATION": f"redis://127.0.0.1:{server.port}/0",
        "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 1}}}
    settings.SESSION_ENGINE = "safesora.sessions"
    yield server
    if server.process.poll() is None:
        server.stop()


def log_in(client: Client, username: str) -> None:
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]


def label_one(client: Client) -> int:
    response = client.post("/api/annotation/next", {"count": 1}, content_type="application/json")
    assert response.status_code == 200, response.content[:300]
    lease = response.json()["assignments"][0]["assignment_id"]
    response = client.post(f"/api/annotation/assignments/{lease}/submit",
                           json.dumps({"answers": ANSWERS, "time_spent_ms": 9000}), content_type="application/json")
    assert response.status_code == 200, response.content[:300]
    return response.json()["annotation_id"]


def test_sessions_login_and_labelling_survive_a_redis_outage(private_redis, caplog):
    from annotation.models import Annotation

    worker = make_user("outage-worker", password=PASSWORD)
    campaign = make_campaign(overlap=1)
    campaign.workers.add(worker)
    make_pairs(campaign, 6)

    browser = Client()
    log_in(browser, "outage-worker")
    assert browser.get("/annotate/").status_code == 200
    label_one(browser)
    assert private_redis.keys()  # the session is cached in Redis, as in production
    old_cookie = browser.cookies["sessionid"].value

    private_redis.stop()
    # Every page, the API with the session cookie, logout and a new login keep working.
    for url in ("/annotate/", "/", "/api/annotation/status"):
        assert browser.get(url).status_code in (200, 302), url
    label_one(browser)
    assert browser.post("/accounts/logout/").status_code == 302
    assert browser.get("/annotate/").status_code == 302  # logged out, really
    stale = Client()
    stale.cookies["sessionid"] = old_cookie
    assert stale.get("/annotate/")["Location"].startswith("/accounts/login/")
    log_in(browser, "outage-worker")
    label_one(browser)
    # The cache errors were logged, not raised, and not one traceback per call (dozens of calls
    # failed above): one record per 10 s (safesora.logs.OncePerInterval).
    assert 1 <= caplog.text.count("Exception ignored") <= 3

    private_redis.start()  # back with the data it had, including the copy of the ended session
    assert any(old_cookie.encode() in key for key in private_redis.keys())
    stale.cookies["sessionid"] = old_cookie  # (the outage answer told this client to drop it)
    response = stale.get("/annotate/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not any(old_cookie.encode() in key for key in private_redis.keys())
    assert browser.get("/annotate/").status_code == 200
    label_one(browser)
    assert private_redis.keys()  # sessions are cached again
    assert Annotation.objects.filter(user=worker).count() == 4
