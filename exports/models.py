"""Export runs: one snapshot of the data, one release folder."""

from pathlib import Path

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

    @classmethod
    def release_source(cls, value: "str | int") -> "tuple[str, ExportRun | None]":
        """What a trainer was given (an export run's id or a release folder) -> (folder, the run if any).

        Raises ValueError with the reason when the id names no run or one that has not succeeded.
        """
        text = str(value).strip()
        if not (text.isdigit() and not Path(text).exists()):
            return text, None
        run = cls.objects.filter(pk=int(text)).first()
        if run is None:
            raise ValueError(f"no export run with id {text}")
        if run.state != ExportState.SUCCEEDED or not run.output_path:
            raise ValueError(f"export run {text} has not succeeded (state: {run.state})")
        return run.output_path, run
