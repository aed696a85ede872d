"""API tokens: how programmatic clients authenticate (the browser uses its session)."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _

TOKEN_PREFIX = "ssk_"


TOUCH_EVERY = timedelta(minutes=5)  # last_used_at precision: saves a write per request


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def password_stamp(user) -> str:
    """A keyed hash of the user's password hash: it changes whenever the password does, by any path
    (set_password, the admin, `changepassword`, raw SQL), which ends the tokens issued before (as
    Django ends sessions through get_session_auth_hash)."""
    return salted_hmac("safesora.ApiToken.password_stamp", user.password or "", algorithm="sha256").hexdigest()


class ApiToken(models.Model):
    """One per user. Only a hash is stored: the key is shown once, when it is issued."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_token",
                                verbose_name=_("user"))
    key_hash = models.CharField(_("key hash (sha256)"), max_length=64, unique=True, editable=False)
    hint = models.CharField(_("first characters"), max_length=12, editable=False)
    created_at = models.DateTimeField(_("issued"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    password_stamp = models.CharField(_("password stamp"), max_length=64, blank=True, editable=False)

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
                                                          "created_at": timezone.now(), "last_used_at": None,
                                                          "password_stamp": password_stamp(user)})
        return key

    @classmethod
    def revoke(cls, user) -> int:
        """Delete the user's token (password changed, account deactivated, or on request)."""
        return cls.objects.filter(user=user).delete()[0]

    @property
    def expires_at(self):
        """None without API_TOKEN_LIFETIME_DAYS; otherwise the issue time plus that many days."""
        days = settings.API_TOKEN_LIFETIME_DAYS
        return self.created_at + timedelta(days=days) if days and self.created_at else None

    @classmethod
    def user_for_key(cls, key: str):
        """The active user a key authenticates, or None. A token of a deactivated user or from before
        a password change is deleted on sight; an expired one is refused."""
        found = cls.objects.select_related("user").filter(key_hash=hash_token(key)).first()
        if found is None:
            return None
        user = found.user
        if not user.is_active or not constant_time_compare(found.password_stamp, password_stamp(user)):
            found.delete()
            return None
        now = timezone.now()
        if found.expires_at is not None and now >= found.expires_at:
            return None
        if found.last_used_at is None or now - found.last_used_at > TOUCH_EVERY:
            cls.objects.filter(pk=found.pk).update(last_used_at=now)
        return user


def bearer_user(request):
    """The user of an `Authorization: Bearer <key>` header (as the API accepts it), or None."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    return ApiToken.user_for_key(key.strip())
