"""API tokens: how programmatic clients authenticate (the browser uses its session)."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

TOKEN_PREFIX = "ssk_"


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    """One per user. Only a hash is stored: the key is shown once, when it is issued."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_token",
                                verbose_name=_("user"))
    key_hash = models.CharField(_("key hash (sha256)"), max_length=64, unique=True, editable=False)
    hint = models.CharField(_("first characters"), max_length=12, editable=False)
    created_at = models.DateTimeField(_("issued"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.hint}… ({self.user})"

    @classmethod
    def issue(cls, user) -> str:
        """A new key for `user` (replacing any earlier one); returns the key, which is not stored."""
        key = TOKEN_PREFIX + secrets.token_urlsafe(32)
        cls.objects.update_or_create(user=user, defaults={"key_hash": hash_token(key), "hint": key[:12],
                                                          "created_at": timezone.now(), "last_used_at": None})
        return key
