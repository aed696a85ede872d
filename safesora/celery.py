"""The Celery app. Workers: `celery -A safesora worker -Q <queue> --concurrency 1`."""

import os

from celery import Celery

# What sending a task raises when the broker (Redis) cannot be reached, after kombu's own short
# retries. Views that send tasks catch it and say so instead of answering 500.
from kombu.exceptions import OperationalError as BrokerUnavailable

__all__ = ["app", "BrokerUnavailable"]

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safesora.settings")

app = Celery("safesora")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
