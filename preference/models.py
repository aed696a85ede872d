"""Trained reward and cost models: one version line per dimension, one active model per dimension."""

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from exports.models import ExportRun
from moderation.models import ModelState

from .data import DIMENSIONS

DIMENSION_CHOICES = [(d, d.replace("_", " ")) for d in DIMENSIONS]


class ModelKind(models.TextChoices):
    REWARD = "reward", _("Reward model")
    COST = "cost", _("Cost model")


class PreferenceModel(models.Model):
    """A versioned pairwise model of one dimension (harmlessness: a cost model)."""

    dimension = models.CharField(_("dimension"), max_length=30, choices=DIMENSION_CHOICES)
    version = models.PositiveIntegerField(_("version"))
    kind = models.CharField(_("kind"), max_length=10, choices=ModelKind.choices)
    name = models.CharField(_("name"), max_length=200, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=ModelState.choices, default=ModelState.TRAINING)
    is_active = models.BooleanField(_("active"), default=False)
    progress = models.FloatField(_("progress"), default=0.0)
    config = models.JSONField(_("training configuration"), default=dict, blank=True)
    metrics = models.JSONField(_("evaluation metrics"), default=dict, blank=True)
    artifact_path = models.CharField(_("checkpoint path"), max_length=500, blank=True)
    report_path = models.CharField(_("report folder"), max_length=500, blank=True)
    export_run = models.ForeignKey(ExportRun, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="preference_models", verbose_name=_("trained from export"))
    snapshot_path = models.CharField(_("data snapshot path"), max_length=500, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["dimension", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["dimension", "version"], name="preference_version_per_dimension"),
            models.UniqueConstraint(fields=["dimension"], condition=Q(is_active=True),
                                    name="one_active_preference_model_per_dimension"),
            models.CheckConstraint(condition=Q(state__in=ModelState.values), name="preference_state_valid"),
            models.CheckConstraint(condition=Q(is_active=False) | Q(state=ModelState.READY),
                                   name="preference_active_is_ready"),
            models.CheckConstraint(condition=Q(progress__gte=0, progress__lte=1), name="preference_progress_range"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.dimension} v{self.version}" + (" (active)" if self.is_active else "")

    @classmethod
    def active(cls, dimension: str) -> "PreferenceModel | None":
        return cls.objects.filter(dimension=dimension, is_active=True).first()

    @property
    def run_dir(self) -> Path:
        return Path(settings.PREFERENCE_DIR) / self.dimension / f"v{self.version}"

    def activate(self) -> None:
        """Make this the dimension's model used by Best-of-N, the leaderboard and pairing."""
        if self.state != ModelState.READY:
            raise ValidationError(_("Only a model that finished training can be activated."))
        with transaction.atomic():
            list(PreferenceModel.objects.select_for_update().filter(dimension=self.dimension, is_active=True))
            PreferenceModel.objects.filter(dimension=self.dimension, is_active=True).exclude(pk=self.pk).update(
                is_active=False)
            PreferenceModel.objects.filter(pk=self.pk).update(is_active=True)
        self.is_active = True

    def summary(self) -> dict:
        test = (self.metrics or {}).get("test") or {}
        return {"agreement": test.get("agreement"), "ci_low": test.get("ci_low"), "ci_high": test.get("ci_high"),
                "cost_sign_accuracy": (test.get("cost_sign") or {}).get("accuracy")}


class VideoScore(models.Model):
    """A preference model's score of one video (for its generator's prompt). Costs: > 0 means unsafe."""

    video = models.ForeignKey("generation.Video", on_delete=models.CASCADE, related_name="preference_scores")
    model = models.ForeignKey(PreferenceModel, on_delete=models.CASCADE, related_name="scores")
    score = models.FloatField(_("score"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["video", "model"], name="preference_score_once_per_model")]

    def __str__(self) -> str:
        return f"{self.model} on {self.video_id[:12]}: {self.score:.3f}"


class BestOfN(models.Model):
    """One Best-of-N choice: a prompt's N candidate videos from one generator and the one kept for pairing."""

    prompt = models.ForeignKey("generation.Prompt", on_delete=models.CASCADE, related_name="best_of_n")
    generator = models.ForeignKey("generation.Generator", on_delete=models.CASCADE, related_name="best_of_n")
    chosen = models.ForeignKey("generation.Video", on_delete=models.CASCADE, related_name="chosen_by_best_of_n")
    rule = models.CharField(_("selection rule"), max_length=60)
    reward_model = models.ForeignKey(PreferenceModel, on_delete=models.SET_NULL, null=True, related_name="+")
    cost_model = models.ForeignKey(PreferenceModel, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("Best-of-N choice")
        constraints = [models.UniqueConstraint(fields=["prompt", "generator"], name="best_of_n_once_per_prompt")]

    def __str__(self) -> str:
        return f"best of {self.candidates.count()} for {self.prompt_id[:12]} on {self.generator_id}"


class BestOfNCandidate(models.Model):
    """A generated candidate with its scores; pairing skips the candidates that were not chosen."""

    selection = models.ForeignKey(BestOfN, on_delete=models.CASCADE, related_name="candidates")
    video = models.OneToOneField("generation.Video", on_delete=models.CASCADE, related_name="best_of_n")
    seed = models.BigIntegerField(_("seed"), null=True)
    reward = models.FloatField(_("reward"))
    cost = models.FloatField(_("cost"), null=True, blank=True)
    chosen = models.BooleanField(_("chosen"), default=False)

    class Meta:
        ordering = ["-chosen", "-reward"]

    def __str__(self) -> str:
        return f"{self.video_id[:12]}: reward {self.reward:.3f}" + (" (chosen)" if self.chosen else "")
