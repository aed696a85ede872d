"""Django's Redis cache backend, minus a redis.Redis object built on every call.

Django's RedisCacheClient makes a new client per operation; building one costs about as much
CPU as the round trip, and every request reads its session through the cache. A client over a
connection pool is thread-safe, so one per pool is kept.
"""

from django.core.cache.backends import redis


class RedisCacheClient(redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}  # id(pool) -> its client

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
