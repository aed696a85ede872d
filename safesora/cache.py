"""Django's Redis cache backend, minus a redis.Redis object built on every call.

Django's RedisCacheClient makes a new client per operation; building one costs about as much
CPU as the round trip, and every request reads its session through the cache. A client over a
connection pool is thread-safe, so one per pool is kept.
"""

from django.core.cache.backends import redis


class RedisCacheClient(redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        if index not in self._clients:
            if index not in self._pools:
                self._pools[index] = self._pool_class.from_url(self._servers[index], **self._pool_options)
            self._clients[index] = self._client(connection_pool=self._pools[index])
        return self._clients[index]


class RedisCache(redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
