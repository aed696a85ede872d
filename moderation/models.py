"""Trained moderation models and the predictions they made."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from exports.models import ExportRun
from generation.models import Video


class ModelState(models.TextChoices):
    TRAINING = "training", _("Training")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class ModerationModel(models.Model):
    """A versioned harm classifier. At most one is active: it screens new videos."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=ModelState.choices, default=ModelState.TRAINING)
    is_active = models.BooleanField(_("active"), default=False)
    config = models.JSONField(_("training configuration"), default=dict, blank=True)
    metrics = models.JSONField(_("evaluation metrics"), default=dict, blank=True)
    thresholds = models.JSONField(_("per-category thresholds"), default=dict, blank=True)
    artifact_path = models.CharField(_("checkpoint path"), max_length=500, blank=True)
    report_path = models.CharField(_("report folder"), max_length=500, blank=True)
    export_run = models.ForeignKey(ExportRun, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="moderation_models", verbose_name=_("trained from export"))
    snapshot_path = models.CharField(_("data snapshot path"), max_length=500, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True),
                                    name="one_active_moderation_model"),
            models.CheckConstraint(condition=Q(state__in=ModelState.values), name="moderation_state_valid"),
            models.CheckConstraint(condition=Q(is_active=False) | Q(state=ModelState.READY),
                                   name="moderation_active_is_ready"),
        ]

    def __str__(self) -> str:
        return f"moderation v{self.version}" + (" (active)" if self.is_active else "")


class Prediction(models.Model):
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="predictions")
    model = models.ForeignKey(ModerationModel, on_delete=models.CASCADE, related_name="predictions")
    scores = models.JSONField(_("probability per harm category"))
    unsafe_probability = models.FloatField(_("probability unsafe"))
    flagged = models.BooleanField(_("flagged"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["video", "model"], name="prediction_once_per_model"),
            models.CheckConstraint(condition=Q(unsafe_probability__gte=0, unsafe_probability__lte=1),
                                   name="prediction_probability_range"),
        ]

    def __str__(self) -> str:
        return f"prediction {self.pk} v{self.model_id} on {self.video_id[:12]}"
