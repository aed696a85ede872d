"""Prompts, generators, generation jobs and the videos they produce."""

import hashlib
import logging
import unicodedata

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from safesora.taxonomy import HARM_KEYS, empty_labels, validate_labels

log = logging.getLogger(__name__)


def normalize_text(text: str) -> str:
    """The form two prompts are compared in: Unicode NFKC, whitespace collapsed, case folded."""
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


def text_hash(text: str) -> str:
    """sha256 of the normalized text: the dedup key, and the id of a prompt that brings none."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


def stable_id(*parts: object) -> str:
    """A 64-hex id derived from its parts, so re-running gives the same id."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()


def labels_have_all_keys(field: str) -> Q:
    return Q(**{f"{field}__has_keys": list(HARM_KEYS)})


class PromptType(models.TextChoices):
    SAFETY_CRITICAL = "safety_critical", _("Safety critical")
    SAFETY_NEUTRAL = "safety_neutral", _("Safety neutral")


class Split(models.TextChoices):
    NONE = "", _("Not fixed (export decides)")
    TRAIN = "train", _("Train")
    TEST = "test", _("Test")
    EVAL = "eval", _("Evaluation")


class Prompt(models.Model):
    id = models.CharField(primary_key=True, max_length=64, editable=False)
    text = models.TextField(_("text"))
    text_hash = models.CharField(_("normalized text hash"), max_length=64, unique=True, editable=False)
    prompt_type = models.CharField(_("prompt type"), max_length=20, choices=PromptType.choices)
    prompt_labels = models.JSONField(_("prompt harm labels"), default=empty_labels, validators=[validate_labels])
    source = models.CharField(_("source"), max_length=200, blank=True)
    split = models.CharField(_("split"), max_length=10, choices=Split.choices, blank=True, default="")
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(prompt_type__in=PromptType.values), name="prompt_type_valid"),
            models.CheckConstraint(condition=Q(split__in=Split.values), name="prompt_split_valid"),
            models.CheckConstraint(condition=labels_have_all_keys("prompt_labels"), name="prompt_labels_complete"),
        ]

    def __str__(self) -> str:
        return self.text[:80]

    def save(self, *args, **kwargs) -> None:
        self.text_hash = text_hash(self.text)
        if not self.id:
            self.id = self.text_hash
        super().save(*args, **kwargs)


class Family(models.TextChoices):
    """Diffusers text-to-video families the workers know how to build."""

    WAN = "wan", "Wan 2.1"
    COGVIDEOX = "cogvideox", "CogVideoX"
    LTX = "ltx", "LTX-Video"
    HUNYUAN = "hunyuan", "HunyuanVideo"
    MOCHI = "mochi", "Mochi"
    ANIMATEDIFF = "animatediff", "AnimateDiff"


class Dtype(models.TextChoices):
    BFLOAT16 = "bfloat16", "bfloat16"
    FLOAT16 = "float16", "float16"
    FLOAT32 = "float32", "float32"


class Generator(models.Model):
    """A text-to-video model as the platform runs it: one Celery queue each."""

    name = models.SlugField(_("name"), max_length=100, unique=True,
                            help_text=_("Exported as `generated_from`."))
    family = models.CharField(_("family"), max_length=20, choices=Family.choices)
    pipeline_class = models.CharField(_("diffusers pipeline class"), max_length=100)
    checkpoint = models.CharField(
        _("checkpoint"), max_length=300, blank=True,
        help_text=_("Hub id or local path. Empty: the tiny random-weight variant of this family."),
    )
    num_frames = models.PositiveIntegerField(_("frames"), default=49)
    fps = models.PositiveIntegerField(_("frames per second"), default=16)
    height = models.PositiveIntegerField(_("height"), default=480)
    width = models.PositiveIntegerField(_("width"), default=832)
    num_inference_steps = models.PositiveIntegerField(_("inference steps"), default=50)
    guidance_scale = models.FloatField(_("guidance scale"), default=5.0)
    negative_prompt = models.TextField(_("negative prompt"), blank=True)
    dtype = models.CharField(_("dtype"), max_length=10, choices=Dtype.choices, default=Dtype.BFLOAT16)
    memory_options = models.JSONField(
        _("memory switches"), default=dict, blank=True,
        help_text=_("e.g. {\"model_cpu_offload\": true, \"vae_tiling\": true, \"attention_backend\": \"flash\"}"),
    )
    extra_params = models.JSONField(_("extra pipeline arguments"), default=dict, blank=True)
    queue = models.CharField(_("Celery queue"), max_length=100, blank=True,
                             help_text=_("Empty: gen.<name>."))
    enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(family__in=Family.values), name="generator_family_valid"),
            models.CheckConstraint(condition=Q(dtype__in=Dtype.values), name="generator_dtype_valid"),
            models.CheckConstraint(condition=Q(num_frames__gt=0, fps__gt=0, height__gt=0, width__gt=0),
                                   name="generator_sizes_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_tiny(self) -> bool:
        return not self.checkpoint

    @property
    def queue_name(self) -> str:
        return self.queue or f"gen.{self.name}"


class JobState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class GenerationJob(models.Model):
    """One video to make: a prompt, a generator and a seed. The state machine lives in generation.jobs."""

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="jobs")
    generator = models.ForeignKey(Generator, on_delete=models.PROTECT, related_name="jobs")
    seed = models.BigIntegerField(_("seed"))
    params = models.JSONField(_("parameter overrides"), default=dict, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=JobState.choices, default=JobState.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error = models.TextField(_("error"), blank=True)
    task_id = models.CharField(_("Celery task id"), max_length=64, blank=True)
    worker_host = models.CharField(_("worker host"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    pipeline_seconds = models.FloatField(_("pipeline seconds"), null=True, blank=True)
    total_seconds = models.FloatField(_("total seconds"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["prompt", "generator", "seed"], name="job_unique_prompt_generator_seed"),
            models.CheckConstraint(condition=Q(state__in=JobState.values), name="job_state_valid"),
            models.CheckConstraint(condition=Q(seed__gte=0), name="job_seed_nonnegative"),
        ]
        indexes = [models.Index(fields=["generator", "state"], name="job_generator_state")]

    def __str__(self) -> str:
        return f"job {self.pk} {self.generator_id}/{self.prompt_id[:8]}/seed {self.seed} ({self.state})"


class Origin(models.TextChoices):
    GENERATED = "generated", _("Generated")
    IMPORTED = "imported", _("Imported")


def video_upload_to(video: "Video", filename: str) -> str:
    return f"videos/{video.prompt_id}/{video.id}.mp4"


def poster_upload_to(video: "Video", filename: str) -> str:
    return f"posters/{video.prompt_id}/{video.id}.jpg"


class Video(models.Model):
    id = models.CharField(primary_key=True, max_length=64, editable=False)
    prompt = models.ForeignKey(Prompt, on_delete=models.PROTECT, related_name="videos")
    generator = models.ForeignKey(Generator, on_delete=models.PROTECT, related_name="videos")
    job = models.OneToOneField(GenerationJob, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="video")
    video_text = models.TextField(_("text fed to the generator"))
    seed = models.BigIntegerField(_("seed"), null=True, blank=True)
    file = models.FileField(_("file"), upload_to=video_upload_to, max_length=300)
    poster = models.FileField(_("poster"), upload_to=poster_upload_to, max_length=300, blank=True)
    fps = models.FloatField(_("frames per second"))
    num_frames = models.PositiveIntegerField(_("frames"))
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    duration = models.FloatField(_("duration (s)"))
    size_bytes = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    sha256 = models.CharField(_("sha256"), max_length=64)
    origin = models.CharField(_("origin"), max_length=10, choices=Origin.choices, default=Origin.GENERATED)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    # Written by moderation (moderation.screening is the one writer).
    flagged = models.BooleanField(_("flagged by moderation"), default=False, db_index=True)
    harm_scores = models.JSONField(_("moderation scores"), null=True, blank=True)
    moderated_at = models.DateTimeField(_("moderated"), null=True, blank=True)

    class Meta:
        ordering = ["prompt_id", "generator_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(origin__in=Origin.values), name="video_origin_valid"),
            models.CheckConstraint(condition=Q(num_frames__gt=0, width__gt=0, height__gt=0, fps__gt=0),
                                   name="video_sizes_positive"),
        ]
        indexes = [models.Index(fields=["prompt", "generator"], name="video_prompt_generator")]

    def __str__(self) -> str:
        return f"{self.generator_id}:{self.id[:12]}"

    def save(self, *args, **kwargs) -> None:
        """Save; a new video, however it arrives (generated, imported, added in the admin), is announced
        to settings.VIDEO_CREATED_TASKS (moderation's screening) once its transaction commits."""
        adding = self._state.adding
        super().save(*args, **kwargs)
        if adding:
            video_id = self.id
            transaction.on_commit(lambda: announce_new_video(video_id))


def announce_new_video(video_id: str) -> None:
    """Start the tasks named in settings.VIDEO_CREATED_TASKS (e.g. moderation's screening) on a new video.

    Generation never imports moderation: it names the tasks, and a new video stays valid when one
    cannot be started (it can be screened again later).
    """
    from celery import current_app

    for name in settings.VIDEO_CREATED_TASKS:
        try:
            current_app.signature(name, args=[video_id]).apply_async()
        except Exception:
            log.exception("could not start %s for video %s", name, video_id)
