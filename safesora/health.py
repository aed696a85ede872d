"""Health endpoint for compose healthchecks and load balancers (django-health-check).

GET /health/ checks, each reported by name: the database, the cache (Redis when CACHE_URL is set),
the Celery broker and the media storage (local folder or S3). 200 when all pass, 500 otherwise;
`?format=json` or `Accept: application/json` for machines, `?format=text` for people.
"""

import dataclasses
import datetime

from django.conf import settings
from health_check.base import HealthCheck
from health_check.checks import Cache, Database, Storage
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView
from kombu import Connection


@dataclasses.dataclass
class Broker(HealthCheck):
    """Connects to the Celery broker (any kombu transport). With no broker configured, tasks run
    in-process and there is nothing to reach."""

    timeout = datetime.timedelta(seconds=3)

    def run(self) -> None:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            return
        try:
            with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as connection:
                connection.ensure_connection(max_retries=1, timeout=2)
        except Exception as exc:  # kombu raises the transport's own errors
            # The URL is not shown: it may hold a password.
            raise ServiceUnavailable("The Celery broker cannot be reached.") from exc


class PlatformHealthView(HealthCheckView):
    checks = (Database, Cache, Broker, Storage)
