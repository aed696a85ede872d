"""Campaigns, pairs, leases (assignments), annotations and reviews."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from generation.models import Prompt, Video, labels_have_all_keys
from safesora.taxonomy import PREFERENCE_QUESTIONS, QUESTIONS, VIDEO_CHOICES, empty_labels, validate_labels

from .answers import clean_gold_answers


def validate_gold_answers(value: object) -> None:
    if value is not None:
        clean_gold_answers(value)


class VideoChoice(models.TextChoices):
    VIDEO_0 = "video_0", _("Left video (video_0)")
    VIDEO_1 = "video_1", _("Right video (video_1)")


class Campaign(models.Model):
    """A round of annotation (a pilot, the main run): its pairs, its people, its rules."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    instructions = models.TextField(_("instructions"), blank=True)
    overlap = models.PositiveSmallIntegerField(_("annotations per pair"), default=3)
    lease_seconds = models.PositiveIntegerField(_("lease length (s)"), default=900)
    gold_rate = models.FloatField(_("share of gold pairs served"), default=0.1)
    gold_min_accuracy = models.FloatField(_("minimum gold accuracy"), default=0.7)
    gold_min_answers = models.PositiveSmallIntegerField(
        _("gold answers before accuracy is enforced"), default=5)
    daily_cap = models.PositiveIntegerField(_("pairs per person per day"), null=True, blank=True)
    blur_sensitive = models.BooleanField(
        _("blur flagged or safety-critical videos until clicked"), default=True)
    include_flagged = models.BooleanField(
        _("route videos flagged by moderation to annotation"), default=True)
    break_reminder_minutes = models.PositiveSmallIntegerField(_("break reminder every (min)"), default=45)
    edit_window_minutes = models.PositiveIntegerField(
        _("answers can be corrected for (min)"), default=30, db_default=30,
        help_text=_("How long a worker may reopen and correct a submitted pair (until it is reviewed or "
                    "exported); 0: never."))
    # build_pairs' default; "uncertain" builds first the pairs the active reward model finds closest
    # (docs/preference.md).
    pairing_strategy = models.CharField(_("pairing strategy"), max_length=10, default="random",
                                        choices=[("random", _("random")), ("uncertain", _("uncertain first"))])
    workers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="campaigns",
                                     verbose_name=_("crowdworkers allowed"))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(overlap__gte=1), name="campaign_overlap_positive"),
            models.CheckConstraint(condition=Q(lease_seconds__gte=10), name="campaign_lease_min"),
            models.CheckConstraint(condition=Q(gold_rate__gte=0, gold_rate__lte=1), name="campaign_gold_rate_range"),
            models.CheckConstraint(condition=Q(gold_min_accuracy__gte=0, gold_min_accuracy__lte=1),
                                   name="campaign_gold_accuracy_range"),
        ]

    def __str__(self) -> str:
        return self.name


class Pair(models.Model):
    """Two videos of one prompt from different generators, to be compared.

    `claimed_count` counts live leases plus submitted annotations; the next-pair engine raises it
    with one conditional UPDATE, and the check constraint makes over-assignment impossible.
    """

    id = models.CharField(primary_key=True, max_length=64, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="pairs")
    prompt = models.ForeignKey(Prompt, on_delete=models.PROTECT, related_name="pairs")
    video_0 = models.ForeignKey(Video, on_delete=models.PROTECT, related_name="+")
    video_1 = models.ForeignKey(Video, on_delete=models.PROTECT, related_name="+")
    required_annotations = models.PositiveSmallIntegerField(_("annotations required"))
    claimed_count = models.PositiveSmallIntegerField(_("leased or done"), default=0)
    # Among open pairs equally close to completion, higher first: the `uncertain` pairing strategy
    # ranks the pairs the active reward model finds hardest to tell apart highest (0: no preference).
    serve_priority = models.PositiveIntegerField(_("serving priority"), default=0, db_default=0)
    annotation_count = models.PositiveSmallIntegerField(_("annotations done"), default=0)
    is_gold = models.BooleanField(_("gold pair"), default=False)
    exported_at = models.DateTimeField(_("last exported"), null=True, blank=True, editable=False,
                                       help_text=_("Set by exports; from then on its annotations are final."))
    gold_answers = models.JSONField(_("gold answers"), null=True, blank=True, validators=[validate_gold_answers],
                                    help_text=_("Known answers, e.g. {\"harmlessness\": \"video_1\"}."))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(video_0=F("video_1")), name="pair_two_distinct_videos"),
            models.CheckConstraint(condition=Q(required_annotations__gte=1), name="pair_required_positive"),
            models.CheckConstraint(condition=Q(claimed_count__lte=F("required_annotations")),
                                   name="pair_never_over_assigned"),
            models.CheckConstraint(condition=Q(annotation_count__lte=F("required_annotations")),
                                   name="pair_never_over_annotated"),
            models.CheckConstraint(condition=Q(is_gold=False) | Q(gold_answers__isnull=False),
                                   name="pair_gold_has_answers"),
            models.UniqueConstraint(fields=["campaign", "video_0", "video_1"], name="pair_unique_in_campaign"),
        ]
        indexes = [
            # The next-pair engine's queue: open regular pairs of a campaign, closest to completion
            # first, then by serving priority.
            models.Index(F("campaign"), F("required_annotations") - F("claimed_count"), F("serve_priority").desc(),
                         F("id"), name="pair_open_queue",
                         condition=Q(claimed_count__lt=F("required_annotations"), is_gold=False)),
            models.Index(fields=["campaign"], name="pair_gold", condition=Q(is_gold=True)),
        ]

    def __str__(self) -> str:
        return f"pair {self.id[:12]}"

    def save(self, *args, **kwargs) -> None:
        # Grading compares these with the submitted answers in SQL and in Python: only a
        # validated form may reach the database (a clear ValidationError, nothing saved).
        if self.gold_answers is not None:
            self.gold_answers = clean_gold_answers(self.gold_answers)
        super().save(*args, **kwargs)

    @property
    def is_complete(self) -> bool:
        return self.annotation_count >= self.required_annotations


class AssignmentState(models.TextChoices):
    ACTIVE = "active", _("Active")
    SUBMITTED = "submitted", _("Submitted")
    SKIPPED = "skipped", _("Skipped")
    EXPIRED = "expired", _("Expired")


class Assignment(models.Model):
    """A lease of a pair to one crowdworker. One per person and pair, ever."""

    pair = models.ForeignKey(Pair, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    state = models.CharField(_("state"), max_length=10, choices=AssignmentState.choices,
                             default=AssignmentState.ACTIVE)
    created_at = models.DateTimeField(_("leased"), auto_now_add=True)
    expires_at = models.DateTimeField(_("lease expires"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    skip_reason = models.CharField(_("skip reason"), max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["pair", "user"], name="assignment_once_per_person"),
            models.CheckConstraint(condition=Q(state__in=AssignmentState.values), name="assignment_state_valid"),
        ]
        indexes = [
            models.Index(fields=["user", "state"], name="assignment_user_state"),
            models.Index(fields=["state", "expires_at"], name="assignment_state_expiry"),
            models.Index(fields=["user", "-created_at"], name="assignment_user_history"),
            # A worker's live leases, read by every claim: only active rows, so it stays tiny.
            models.Index(fields=["user", "expires_at"], name="assignment_user_live",
                         condition=Q(state=AssignmentState.ACTIVE)),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.pair_id[:12]} ({self.state})"


def choice_field(verbose_name: str) -> models.CharField:
    return models.CharField(verbose_name, max_length=7, choices=VideoChoice.choices)


class Judgement(models.Model):
    """The answers to the two-stage protocol (docs/safesora-format.md), shared by annotations and reviews."""

    # One choice field per pairwise question of safesora.taxonomy.QUESTIONS (stage 1: the four
    # helpfulness sub-dimensions; stage 2: overall), added below the class from that list.
    # Stage 1: harmlessness per video.
    video_0_is_safe = models.BooleanField(_("left video is safe"))
    video_0_labels = models.JSONField(_("left video harm labels"), default=empty_labels,
                                      validators=[validate_labels])
    video_1_is_safe = models.BooleanField(_("right video is safe"))
    video_1_labels = models.JSONField(_("right video harm labels"), default=empty_labels,
                                      validators=[validate_labels])

    CHOICE_FIELDS = PREFERENCE_QUESTIONS

    class Meta:
        abstract = True

    @classmethod
    def judgement_constraints(cls, prefix: str) -> list[models.BaseConstraint]:
        return [
            models.CheckConstraint(condition=Q(**{f"{f}__in": VIDEO_CHOICES}), name=f"{prefix}_{f}_valid")
            for f in cls.CHOICE_FIELDS
        ] + [
            models.CheckConstraint(condition=labels_have_all_keys("video_0_labels"), name=f"{prefix}_v0_labels"),
            models.CheckConstraint(condition=labels_have_all_keys("video_1_labels"), name=f"{prefix}_v1_labels"),
        ]


for _question in QUESTIONS:
    Judgement.add_to_class(_question.key, choice_field(_question.name.lower()))


COMMENT_MAX_LENGTH = 1000


class Annotation(Judgement):
    """One crowdworker's answers for one pair. Its worker may correct it for a short while
    (Campaign.edit_window_minutes, until the pair is reviewed or exported): the answers are
    replaced in place, never added, so counters and aggregation see one annotation."""

    pair = models.ForeignKey(Pair, on_delete=models.CASCADE, related_name="annotations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="annotations")
    assignment = models.OneToOneField(Assignment, on_delete=models.PROTECT, related_name="annotation")
    time_spent_ms = models.PositiveIntegerField(_("time spent (ms)"), default=0)
    submitted_at = models.DateTimeField(_("submitted"), auto_now_add=True, db_index=True)
    gold_correct = models.BooleanField(_("matched the gold answers"), null=True, blank=True)
    comment = models.TextField(_("annotator's comment"), blank=True, default="", db_default="",
                               max_length=COMMENT_MAX_LENGTH)
    edited_at = models.DateTimeField(_("last corrected"), null=True, blank=True)

    class Meta:
        ordering = ["submitted_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["pair", "user"], name="annotation_once_per_person"),
            *Judgement.judgement_constraints("annotation"),
        ]
        indexes = [
            models.Index(fields=["user", "submitted_at"], name="annotation_user_time"),
            models.Index(fields=["user"], include=["pair", "gold_correct"], condition=Q(gold_correct__isnull=False),
                         name="annotation_user_gold"),
        ]

    def __str__(self) -> str:
        return f"annotation {self.pk} of {self.pair_id[:12]} by {self.user_id}"


class Review(Judgement):
    """A reviewer's final answer for a pair. Append-only: the newest row is the current one."""

    pair = models.ForeignKey(Pair, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews")
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [*Judgement.judgement_constraints("review")]

    def __str__(self) -> str:
        return f"review {self.pk} of {self.pair_id[:12]}"


class WorkerSettings(models.Model):
    """A person's own settings for the labelling page, kept on the server so they follow them
    from browser to browser. No row means the defaults."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="labelling_settings")
    # WCAG 2.1.4: single-key shortcuts can be turned off (speech input, tremor, screen readers).
    single_key_shortcuts = models.BooleanField(_("single-key shortcuts"), default=True)

    class Meta:
        verbose_name = _("labelling settings")
        verbose_name_plural = _("labelling settings")

    def __str__(self) -> str:
        return f"labelling settings of {self.user_id}"

    @classmethod
    def shortcuts_on(cls, user) -> bool:
        found = cls.objects.filter(user=user).values_list("single_key_shortcuts", flat=True).first()
        return True if found is None else found


def set_single_key_shortcuts(user, on: bool) -> None:
    """Turn the labelling page's single-key shortcuts on or off for `user`."""
    WorkerSettings.objects.update_or_create(user=user, defaults={"single_key_shortcuts": on})
