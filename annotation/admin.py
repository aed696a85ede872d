from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from safesora.admin import NotAddedHereAdmin
from safesora.admin_display import AdminListMedia, clipped, poster_thumbnail, short_id, two_lines

from .models import Annotation, Assignment, Campaign, Pair, Review


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "overlap", "lease_seconds", "gold_rate", "daily_cap", "is_active", "created_at"]
    list_filter = ["is_active"]
    filter_horizontal = ["workers"]


@admin.register(Pair)
class PairAdmin(admin.ModelAdmin):
    list_display = ["posters", "pair_id", "generators", "prompt_text", "annotations"]
    list_display_links = ["posters", "pair_id"]
    list_select_related = ["campaign", "prompt", "video_0__generator", "video_1__generator"]
    list_filter = ["campaign", "is_gold"]
    raw_id_fields = ["prompt", "video_0", "video_1"]
    search_fields = ["id", "prompt__text"]
    show_full_result_count = False
    Media = AdminListMedia

    @admin.display(description=_("posters"))
    def posters(self, obj: Pair) -> str:
        return format_html('<span class="posters">{}{}</span>', poster_thumbnail(obj.video_0),
                           poster_thumbnail(obj.video_1))

    @admin.display(description=_("id"), ordering="id")
    def pair_id(self, obj: Pair) -> str:
        return short_id(obj.pk)

    @admin.display(description=_("generators (left / right)"))
    def generators(self, obj: Pair) -> str:
        return two_lines(obj.video_0.generator.name, obj.video_1.generator.name)

    @admin.display(description=_("prompt · campaign"), ordering="prompt__text")
    def prompt_text(self, obj: Pair) -> str:
        return two_lines(clipped(obj.prompt.text), obj.campaign.name)

    @admin.display(description=_("done / taken / needed"), ordering="annotation_count")
    def annotations(self, obj: Pair) -> str:
        counts = f"{obj.annotation_count}/{obj.claimed_count}/{obj.required_annotations}"
        return two_lines(counts, _("gold")) if obj.is_gold else counts


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
