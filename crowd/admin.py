from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from safesora.admin import NotAddedHereAdmin

from .models import (
    CrowdSettings,
    Enrolment,
    Invite,
    MarketplaceAccount,
    QualificationAttempt,
    QualificationItem,
)


@admin.register(CrowdSettings)
class CrowdSettingsAdmin(admin.ModelAdmin):
    list_display = ("campaign", "marketplace", "completion_code", "quota", "qualification_required",
                    "pass_mark", "max_tries", "entry_link")
    readonly_fields = ("entry_link",)

    @admin.display(description=_("entry URL"))
    def entry_link(self, obj: CrowdSettings) -> str:
        if not obj.pk or not obj.marketplace:
            return "-"
        params = {"prolific": "?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}",
                  "mturk": ""}[obj.marketplace]
        return format_html("<code>{}{}</code>", reverse("crowd:enter", args=[obj.entry_key]), params)


@admin.register(Invite)
class InviteAdmin(admin.ModelAdmin):
    list_display = ("code", "campaign", "expires_at", "uses", "max_uses", "is_active", "link")
    list_filter = ("campaign", "is_active")
    readonly_fields = ("uses", "link")

    @admin.display(description=_("link"))
    def link(self, obj: Invite) -> str:
        return format_html("<code>{}</code>", reverse("crowd:join", args=[obj.code])) if obj.pk else "-"

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(QualificationItem)
class QualificationItemAdmin(admin.ModelAdmin):
    list_display = ("campaign", "pair", "position")
    list_filter = ("campaign",)
    raw_id_fields = ("pair",)


@admin.register(Enrolment)
class EnrolmentAdmin(NotAddedHereAdmin):
    not_added_here = _("People are enrolled by bulk onboarding (/crowd/onboard/), invite links and marketplace "
                       "entry URLs, which also run the qualification. To let someone work on a campaign "
                       "directly, add them to the campaign's crowdworkers.")
    list_display = ("user", "campaign", "source", "state", "study_id", "session_id", "created_at")
    list_filter = ("campaign", "source", "state")
    search_fields = ("user__username", "study_id", "session_id")
    raw_id_fields = ("user",)


@admin.register(MarketplaceAccount)
class MarketplaceAccountAdmin(NotAddedHereAdmin):
    not_added_here = _("Marketplace accounts are made by a campaign's entry URL when a Prolific or MTurk "
                       "worker first opens it.")
    list_display = ("worker_id", "marketplace", "user", "created_at")
    list_filter = ("marketplace",)
    search_fields = ("worker_id", "user__username")
    raw_id_fields = ("user",)


@admin.register(QualificationAttempt)
class QualificationAttemptAdmin(NotAddedHereAdmin):
    not_added_here = _("Qualification tries are made by workers on the qualification page.")
    list_display = ("user", "campaign", "number", "correct", "total", "passed", "finished_at")
    list_filter = ("campaign", "passed")
