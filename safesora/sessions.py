"""Sessions read from the cache, written through to the database, and safe across a Redis outage.

Django's cached_db engine plus two things (SESSION_ENGINE = "safesora.sessions"):

- With django-redis's IGNORE_EXCEPTIONS (settings.CACHES) a cache error is a miss: the session is
  read from and written to the database alone while Redis is down, and the request succeeds.
- A session saved or deleted while the cache could not be written keeps its old copy in Redis if
  Redis kept its data (persistence, a network cut): after the outage that copy would be served
  again, e.g. a session logged out during the outage would be logged in once more. This process
  remembers those keys and deletes their cached copies at its next session access that reaches
  Redis, so the next read goes to the database.

django-redis answers None for a write it could not make (True/False otherwise); that is how a
failed write is told apart.
"""

import logging
import threading

from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.backends.db import SessionStore as DBStore

log = logging.getLogger(__name__)

_stale: set[str] = set()  # cache keys whose cached copy may be older than the database's
_stale_lock = threading.Lock()


def _remember_stale(key: str) -> None:
    with _stale_lock:
        _stale.add(key)
    log.warning("session cache unavailable; %s will be read from the database once it is back", key[-8:])


def _forget_stale(cache) -> None:
    """Delete the cached copies of sessions changed while the cache was down, once it answers."""
    with _stale_lock:
        keys = list(_stale)
    if not keys:
        return
    if cache.delete_many(keys) is None:  # still down
        return
    with _stale_lock:
        _stale.difference_update(keys)
    log.info("session cache back; dropped %d cached session(s) changed during the outage", len(keys))


class SessionStore(cached_db.SessionStore):
    def load(self):
        _forget_stale(self._cache)
        return super().load()

    def save(self, must_create: bool = False) -> None:
        DBStore.save(self, must_create)
        try:
            written = self._cache.set(self.cache_key, self._session, self.get_expiry_age())
        except Exception:  # a backend without IGNORE_EXCEPTIONS: same as Django's cached_db
            cached_db.logger.exception("Error saving to cache (%s)", self._cache)
            written = None
        if written is None:
            _remember_stale(self.cache_key)

    def delete(self, session_key: str | None = None) -> None:
        DBStore.delete(self, session_key)
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        key = self.cache_key_prefix + session_key
        try:
            deleted = self._cache.delete(key)
        except Exception:
            cached_db.logger.exception("Error deleting from cache (%s)", self._cache)
            deleted = None
        if deleted is None:
            _remember_stale(key)
