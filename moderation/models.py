"""Trained moderation models and the predictions they made."""

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
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

    @classmethod
    def active(cls) -> "ModerationModel | None":
        return cls.objects.filter(is_active=True).first()

    @property
    def run_dir(self) -> Path:
        """Where this version's training run keeps its checkpoints, artifact and report."""
        return Path(settings.MODERATION_DIR) / f"v{self.version}"

    def activate(self) -> None:
        """Make this the one model that screens new videos (the previous one steps down)."""
        if self.state != ModelState.READY:
            raise ValidationError(_("Only a model that finished training can be activated."))
        with transaction.atomic():
            list(ModerationModel.objects.select_for_update().filter(is_active=True))  # serialise activations
            ModerationModel.objects.filter(is_active=True).exclude(pk=self.pk).update(is_active=False)
            ModerationModel.objects.filter(pk=self.pk).update(is_active=True)
        self.is_active = True

    def deactivate(self) -> None:
        ModerationModel.objects.filter(pk=self.pk).update(is_active=False)
        self.is_active = False

    def summary(self) -> dict:
        """The headline held-out figures, for lists and the API."""
        test = (self.metrics or {}).get("test") or {}
        macro, unsafe = test.get("macro") or {}, test.get("unsafe") or {}
        return {"macro_f1": macro.get("f1"), "macro_auroc": macro.get("auroc"),
                "unsafe_auroc": unsafe.get("auroc"), "unsafe_f1": unsafe.get("f1")}

    def size_warning(self) -> "str | None":
        """A sentence for a model that finished but was trained or evaluated on nothing; None otherwise."""
        if self.state != ModelState.READY:
            return None
        metrics = self.metrics or {}
        held_out = (metrics.get("test") or {}).get("samples") or 0
        data = metrics.get("data") or {}
        if not held_out:
            return _("This model was evaluated on 0 held-out videos: it has no test figures. Export more labelled "
                     "videos (or a test split) and train again.")
        if data and not data.get("unsafe_share"):
            return _("This model was trained on 0 unsafe videos: it cannot have learned what harm looks like. Export "
                     "labels with unsafe videos and train again.")
        return None


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
