"""Getting people into campaigns: invites, marketplace accounts, enrolments, qualification sets.

A campaign's crowd settings (marketplace, completion code, quota, qualification) live here, in a
one-to-one row, so the annotation app and its next-pair engine stay unaware of them: the engine
serves whoever is on `Campaign.workers`, and this app decides who gets on that list (after the
qualification, when one is required).
"""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from annotation.models import Campaign, Pair

# Marketplace ids, study ids and completion codes go into URLs: letters, digits, _ and - only.
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
id_validator = RegexValidator(ID_PATTERN, _("Use 1 to 64 letters, digits, _ or -."))


def new_key() -> str:
    return secrets.token_urlsafe(16)


def new_code() -> str:
    return secrets.token_urlsafe(9)


class Marketplace(models.TextChoices):
    NONE = "", _("closed to marketplaces")
    PROLIFIC = "prolific", _("Prolific")
    MTURK = "mturk", _("Amazon Mechanical Turk")


class CrowdSettings(models.Model):
    """How people reach one campaign: marketplace entry, completion code, quota, qualification."""

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, primary_key=True, related_name="crowd")
    marketplace = models.CharField(_("open to"), max_length=10, choices=Marketplace.choices, blank=True)
    entry_key = models.CharField(_("entry URL key"), max_length=32, unique=True, default=new_key,
                                 help_text=_("Part of the marketplace entry URL; change it to close old links."))
    prolific_study_id = models.CharField(_("Prolific study id"), max_length=64, blank=True,
                                         validators=[id_validator],
                                         help_text=_("When set, only this STUDY_ID is let in."))
    completion_code = models.CharField(_("completion code"), max_length=64, blank=True, validators=[id_validator],
                                       help_text=_("Shown to marketplace workers when they are done."))
    quota = models.PositiveIntegerField(_("pairs per marketplace worker"), null=True, blank=True,
                                        help_text=_("Empty: until the campaign runs out of pairs."))
    qualification_required = models.BooleanField(_("require the qualification set"), default=False)
    pass_mark = models.FloatField(_("pass mark (share correct)"), default=0.8)
    max_tries = models.PositiveSmallIntegerField(_("tries"), default=2)

    class Meta:
        verbose_name = _("campaign crowd settings")
        verbose_name_plural = _("campaign crowd settings")
        constraints = [
            models.CheckConstraint(condition=Q(pass_mark__gte=0, pass_mark__lte=1), name="crowd_pass_mark_range"),
            models.CheckConstraint(condition=Q(max_tries__gte=1), name="crowd_max_tries_positive"),
            models.CheckConstraint(condition=Q(quota__isnull=True) | Q(quota__gte=1), name="crowd_quota_positive"),
        ]

    def __str__(self) -> str:
        return str(self.campaign)

    def clean(self) -> None:
        if self.marketplace and not self.completion_code:
            raise ValidationError({"completion_code": _("A campaign open to a marketplace needs a completion code.")})


class Source(models.TextChoices):
    STAFF = "staff", _("added by staff")
    CSV = "csv", _("bulk onboarding")
    INVITE = "invite", _("invite link")
    PROLIFIC = "prolific", _("Prolific")
    MTURK = "mturk", _("Amazon Mechanical Turk")


class EnrolmentState(models.TextChoices):
    QUALIFYING = "qualifying", _("taking the qualification")
    WORKING = "working", _("working")
    FAILED = "failed", _("failed the qualification")


class Enrolment(models.Model):
    """A person let into a campaign by this app. On `campaign.workers` only once WORKING."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrolments")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="enrolments")
    source = models.CharField(_("how they came"), max_length=10, choices=Source.choices)
    state = models.CharField(_("state"), max_length=10, choices=EnrolmentState.choices)
    # Marketplace: the study (Prolific STUDY_ID, MTurk hitId) and session (SESSION_ID, assignmentId)
    # of the latest entry, and where MTurk wants the assignment submitted (turkSubmitTo).
    study_id = models.CharField(_("study / HIT id"), max_length=64, blank=True)
    session_id = models.CharField(_("session / assignment id"), max_length=64, blank=True)
    submit_to = models.URLField(_("MTurk submit host"), blank=True)
    created_at = models.DateTimeField(_("enrolled"), auto_now_add=True)
    qualified_at = models.DateTimeField(_("qualified"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "campaign"], name="enrolment_once_per_campaign"),
            models.CheckConstraint(condition=Q(state__in=EnrolmentState.values), name="enrolment_state_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.campaign} ({self.state})"


class MarketplaceAccount(models.Model):
    """The marketplace's worker id behind a password-less account (PROLIFIC_PID, MTurk workerId)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="marketplace")
    marketplace = models.CharField(_("marketplace"), max_length=10,
                                   choices=[c for c in Marketplace.choices if c[0]])
    worker_id = models.CharField(_("worker id"), max_length=64, validators=[id_validator])
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["marketplace", "worker_id"], name="marketplace_worker_once")]

    def __str__(self) -> str:
        return f"{self.marketplace}:{self.worker_id}"


class Invite(models.Model):
    """A sign-up link with a code: people who use it join `campaign` as crowdworkers."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="invites")
    code = models.CharField(_("code"), max_length=32, unique=True, default=new_code, validators=[id_validator])
    expires_at = models.DateTimeField(_("expires"))
    max_uses = models.PositiveIntegerField(_("maximum uses"), default=20)
    uses = models.PositiveIntegerField(_("used"), default=0, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(uses__lte=F("max_uses")), name="invite_uses_within_max")]

    def __str__(self) -> str:
        return f"invite {self.code} to {self.campaign}"


class QualificationItem(models.Model):
    """One gold pair of a campaign's qualification set, with the staff's explanation of its answer."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="qualification_items")
    pair = models.ForeignKey(Pair, on_delete=models.PROTECT, related_name="+",
                             help_text=_("A gold pair of another campaign (a qualification campaign)."))
    explanation = models.TextField(_("explanation"), help_text=_("Shown after the worker answers."))
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["campaign", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "pair"], name="qualification_pair_once")]

    def __str__(self) -> str:
        return f"{self.campaign}: {self.pair}"

    def clean(self) -> None:
        if self.pair_id is None or self.campaign_id is None:
            return
        if not self.pair.is_gold or not self.pair.gold_answers:
            raise ValidationError({"pair": _("Choose a gold pair: its gold answers are what the worker is graded on.")})
        if self.pair.campaign_id == self.campaign_id:
            # The engine would later serve it as a check pair whose answer the worker was shown.
            raise ValidationError({"pair": _("Choose a pair of another campaign: this campaign serves its own "
                                             "gold pairs as unannounced checks during work.")})


class QualificationAttempt(models.Model):
    """One try at a campaign's qualification set."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="qualification_attempts")
    number = models.PositiveSmallIntegerField(_("try"))
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    correct = models.PositiveSmallIntegerField(_("correct"), default=0)
    total = models.PositiveSmallIntegerField(_("pairs"), default=0)
    passed = models.BooleanField(_("passed"), null=True, blank=True)

    class Meta:
        ordering = ["campaign", "user", "number"]
        constraints = [models.UniqueConstraint(fields=["campaign", "user", "number"], name="qualification_try_once")]

    def __str__(self) -> str:
        return f"{self.user} try {self.number} on {self.campaign}"


class QualificationAnswer(models.Model):
    attempt = models.ForeignKey(QualificationAttempt, on_delete=models.CASCADE, related_name="answers")
    item = models.ForeignKey(QualificationItem, on_delete=models.CASCADE, related_name="+")
    answers = models.JSONField(_("answers (cleaned)"))
    correct = models.BooleanField(_("correct"))
    created_at = models.DateTimeField(_("answered"), auto_now_add=True)

    class Meta:
        ordering = ["attempt", "id"]
        constraints = [models.UniqueConstraint(fields=["attempt", "item"], name="qualification_answer_once")]

    def __str__(self) -> str:
        return f"{self.attempt}: item {self.item_id} ({'correct' if self.correct else 'wrong'})"
