from django.contrib import admin

from .models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued with `manage.py issue_api_token USERNAME` (the key is shown once);
    here they are listed and revoked (delete)."""

    list_display = ["user", "hint", "created_at", "last_used_at"]
    search_fields = ["user__username"]
    readonly_fields = ["user", "hint", "created_at", "last_used_at"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


