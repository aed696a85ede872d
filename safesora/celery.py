"""The Celery app. Workers: `celery -A safesora worker -Q <queue> --concurrency 1`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safesora.settings")

app = Celery("safesora")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
