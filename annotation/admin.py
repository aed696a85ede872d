from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from safesora.admin import NotAddedHereAdmin

from .models import Annotation, Assignment, Campaign, Pair, Review


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "overlap", "lease_seconds", "gold_rate", "daily_cap", "is_active", "created_at"]
    list_filter = ["is_active"]
    filter_horizontal = ["workers"]


@admin.register(Pair)
class PairAdmin(admin.ModelAdmin):
    list_display = ["id", "campaign", "prompt", "required_annotations", "claimed_count", "annotation_count",
                    "is_gold"]
    list_filter = ["campaign", "is_gold"]
    raw_id_fields = ["prompt", "video_0", "video_1"]
    search_fields = ["id", "prompt__text"]
    show_full_result_count = False


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["id", "pair", "user", "state", "created_at", "expires_at"]
    list_filter = ["state"]
    raw_id_fields = ["pair", "user"]
    show_full_result_count = False


@admin.register(Annotation)
class AnnotationAdmin(NotAddedHereAdmin):
    not_added_here = _("Annotations are made by crowdworkers on the annotation page (/annotate/) or the API, "
                       "which lease the pair first; corrections are reviews (/review/).")
    list_display = ["id", "pair", "user", "helpfulness", "harmlessness", "video_0_is_safe", "video_1_is_safe",
                    "gold_correct", "submitted_at"]
    list_filter = ["helpfulness", "harmlessness", "gold_correct"]
    raw_id_fields = ["pair", "user", "assignment"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        return False  # annotations are never edited; reviews record corrections

    def has_delete_permission(self, request, obj=None):
        return False  # the pair's counters and the agreement figures count them


@admin.register(Review)
class ReviewAdmin(NotAddedHereAdmin):
    not_added_here = _("Reviews are recorded by reviewers on the review queue (/review/), which shows every "
                       "answer of the pair first.")
    list_display = ["id", "pair", "reviewer", "helpfulness", "harmlessness", "created_at"]
    raw_id_fields = ["pair", "reviewer"]

    def has_change_permission(self, request, obj=None):
        return False  # append-only history

    def has_delete_permission(self, request, obj=None):
        return False  # append-only history: who changed what, and when
