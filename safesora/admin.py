from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from .models import ApiToken


class NotAddedHereAdmin(admin.ModelAdmin):
    """For records only one code path may write (annotations, reviews, predictions): the Add page
    says where they come from instead of offering a form that would bypass that path's checks."""

    not_added_here = ""  # a sentence: where these records come from

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "title": _("Not added here"), "explanation": self.not_added_here}
        return TemplateResponse(request, "admin/not_added_here.html", context)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued with `manage.py issue_api_token USERNAME` (the key is shown once);
    here they are listed and revoked (delete)."""

    list_display = ["user", "hint", "created_at", "expires_at", "last_used_at"]
    search_fields = ["user__username"]
    readonly_fields = ["user", "hint", "created_at", "expires_at", "last_used_at"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False




if admin.site.is_registered(AccessAttempt):  # django-axes' login counters (docs/security.md)
    admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class LoginAttemptAdmin(AccessAttemptAdmin):
    """axes' list, with its clean-up action behind the delete permission (axes asks for none)."""

    @admin.action(description=_("Clean up expired attempts"), permissions=["delete"])
    def cleanup_expired_attempts(self, request, queryset):
        return super().cleanup_expired_attempts(request, queryset)


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class AccountAdmin(UserAdmin):
    """Django's user admin; deactivating an account here also revokes its API token. (A password
    change ends the token by itself: see safesora.models.password_stamp.)"""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not obj.is_active:
            ApiToken.revoke(obj)
