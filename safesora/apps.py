from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class SafesoraConfig(AppConfig):
    name = "safesora"
    verbose_name = "SafeSora platform"

    def ready(self) -> None:
        # Register every app's Celery tasks in every process, not only in workers: in-process runs
        # (no broker) and settings.VIDEO_CREATED_TASKS look tasks up by name. Task modules import no torch.
        autodiscover_modules("tasks")
