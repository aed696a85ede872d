"""CPU per session read from Redis: django-redis against Django's own Redis backend.

Every request reads its session through the cache (SESSION_ENGINE safesora.sessions), so the
client's CPU per call is on the hot path of the annotation loop (docs/assignment.md). Django's
backend builds a redis client per call; django-redis keeps one per connection pool.

    REDIS_URL=redis://127.0.0.1:6379/1 python bench/cache_client.py [--calls 5000] [--rounds 3]
"""

import argparse
import os
import time

from common import setup_django, write_result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL") or os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/1"
    setup_django()
    from django.conf import settings
    from django.core.cache import caches

    settings.CACHES = {
        "django-redis": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": url,
                         "OPTIONS": {**settings.CACHES["default"].get("OPTIONS", {}), "IGNORE_EXCEPTIONS": True}},
        "django": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url},
    }
    caches._settings = caches.settings = settings.CACHES  # the handler reads CACHES once
    session = {"_auth_user_id": "12", "_auth_user_backend": "safesora.auth.UserBackend", "_auth_user_hash": "x" * 64}
    figures: dict = {}
    for name in ("django-redis", "django"):
        cache = caches[name]
        cache.set("bench-cache-client", session, 60)
        best = None
        for _ in range(args.rounds):  # best of the rounds: the machine is shared
            start = time.process_time()
            for _ in range(args.calls):
                cache.get("bench-cache-client")
            per_call = (time.process_time() - start) / args.calls * 1e6
            best = per_call if best is None else min(best, per_call)
        cache.delete("bench-cache-client")
        figures[f"{name}_get_cpu_us"] = round(best)
    figures["calls_per_round"] = args.calls
    write_result("cache_client", figures)


if __name__ == "__main__":
    main()
