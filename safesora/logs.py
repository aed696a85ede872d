"""Logging helpers."""

import logging
import threading
import time


class OncePerInterval(logging.Filter):
    """Let one record through per `seconds`, with a count of those held back since.

    During a Redis outage every request logs the cache errors it ignored (django-redis logs each
    with its traceback); one a few seconds is enough to see the outage, and keeps the logs readable.
    """

    def __init__(self, seconds: float = 10.0):
        super().__init__()
        self.seconds, self.next_at, self.held = seconds, 0.0, 0
        self.lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        with self.lock:
            now = time.monotonic()
            if now < self.next_at:
                self.held += 1
                return False
            self.next_at, held, self.held = now + self.seconds, self.held, 0
        if held:
            record.msg = f"{record.msg} ({held} more like it in the last {self.seconds:g} s not logged)"
        return True
