"""A real Celery worker process for tests, and a switch that makes this process send to the real Redis.

The test settings run tasks in-process (no broker configured); tests that need a worker point this
process's Celery app at TEST_REDIS_URL for their duration and start `celery -A safesora worker`
against the pytest database (which is why they need `django_db(transaction=True)`).
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import redis
from django.db import connection
from kombu import pools

from safesora.celery import app

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def database_url() -> str:
    """The pytest database as a DATABASE_URL for the worker process."""
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _forget_connections() -> None:
    # kombu keeps pooled connections in a global registry keyed by broker; reset() closes and drops
    # them all, so the next send opens a fresh connection to whatever broker is configured now.
    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@contextlib.contextmanager
def real_broker() -> Iterator[str]:
    """Within the block, `.delay()` in this process goes to the real Redis (emptied first)."""
    redis.Redis.from_url(REDIS_URL).flushdb()
    saved = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url, app.conf.task_always_eager = REDIS_URL, False
    _forget_connections()
    try:
        yield REDIS_URL
    finally:
        _forget_connections()
        app.conf.broker_url, app.conf.task_always_eager = saved


class Worker:
    """`celery -A safesora worker -Q <queues>` in its own process group, logging to a file."""

    def __init__(self, queues: str, log: Path, env: dict[str, str] | None = None):
        self.queues, self.log, self.env, self.process = queues, log, env or {}, None

    def start(self, timeout: float = 60) -> "Worker":
        env = {**os.environ, "DATABASE_URL": database_url(), "CELERY_BROKER_URL": REDIS_URL,
               "OMP_NUM_THREADS": "1", "DJANGO_SETTINGS_MODULE": "safesora.settings", **self.env}
        offset = self.log.stat().st_size if self.log.exists() else 0
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "safesora", "worker", "-Q", self.queues, "--concurrency", "1",
             "--prefetch-multiplier", "1", "-n", f"test-{uuid.uuid4().hex[:8]}@%h", "--without-gossip",
             "--without-mingle", "--without-heartbeat", "-l", "INFO"],
            cwd=ROOT, env=env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_for(lambda: "ready." in self.log.read_text()[offset:], timeout, "the worker to start")
        return self

    def kill(self) -> None:
        """SIGKILL the worker and its pool child: no cleanup, as when a machine dies."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def wait_for(self, condition: Callable[[], object], seconds: float, what: str):
        """Poll `condition` until it is truthy; fail with the worker's log if it dies or time runs out."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if value := condition():
                return value
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"the worker exited while waiting for {what}:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}\n{self.log.read_text()[-3000:]}")
