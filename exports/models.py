"""Export runs: one snapshot of the data, one release folder."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ExportState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class ExportRun(models.Model):
    name = models.SlugField(_("name"), max_length=100)
    state = models.CharField(_("state"), max_length=10, choices=ExportState.choices, default=ExportState.QUEUED)
    options = models.JSONField(_("options and filters"), default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="exports")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    progress_done = models.PositiveIntegerField(_("items done"), default=0)
    progress_total = models.PositiveIntegerField(_("items in all"), default=0)
    progress_message = models.CharField(_("progress"), max_length=200, blank=True)
    output_path = models.CharField(_("release folder"), max_length=500, blank=True)
    manifest = models.JSONField(_("manifest"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    task_id = models.CharField(_("Celery task id"), max_length=64, blank=True)
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=ExportState.values), name="export_state_valid"),
        ]

    def __str__(self) -> str:
        return f"export {self.pk} {self.name} ({self.state})"
