from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from safesora.admin import NotAddedHereAdmin
from safesora.admin_display import AdminListMedia, clipped, poster_thumbnail, short_id, two_lines

from . import assignment
from .models import Annotation, Assignment, Campaign, Pair, Review


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "overlap", "lease_seconds", "gold_rate", "daily_cap", "is_active", "created_at"]
    list_filter = ["is_active"]
    filter_horizontal = ["workers"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "overlap" in form.changed_data:
            # Pairs carry their own copy of the overlap: the engine applies the new one to them.
            result = assignment.set_campaign_overlap(obj, obj.overlap)
            self.message_user(request, ngettext(
                "Overlap %(overlap)d applied to %(pairs)d pair.", "Overlap %(overlap)d applied to %(pairs)d pairs.",
                result.pairs) % {"overlap": result.overlap, "pairs": result.pairs})
            if result.held_above:
                self.message_user(request, ngettext(
                    "%(n)d pair could not be lowered to %(overlap)d: it is already leased or annotated more "
                    "times, and keeps that count.",
                    "%(n)d pairs could not be lowered to %(overlap)d: they are already leased or annotated more "
                    "times, and keep that count.", result.held_above) % {
                    "n": result.held_above, "overlap": result.overlap}, messages.WARNING)


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

    # The engine keeps the counters (the check constraints count on them); the overlap is the campaign's.
    readonly_fields = ["claimed_count", "annotation_count"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "required_annotations"] if obj else self.readonly_fields


@admin.register(Assignment)
class AssignmentAdmin(NotAddedHereAdmin):
    """Leases are read here; the one change offered, releasing them, goes through the engine."""

    not_added_here = _("Leases are made by the next-pair engine when a crowdworker asks for work (/annotate/ or "
                       "the API). Select leases in the list to release them.")
    list_display = ["id", "pair", "user", "state", "created_at", "expires_at"]
    list_filter = ["state"]
    raw_id_fields = ["pair", "user"]
    show_full_result_count = False
    actions = ["release_selected"]

    def has_change_permission(self, request, obj=None):
        return False  # the engine's counters follow the leases' states

    def has_delete_permission(self, request, obj=None):
        return False  # a lease is the record that the worker had the pair (one per person and pair)

    def has_release_permission(self, request):
        return request.user.has_perm("annotation.change_assignment")

    @admin.action(description=_("Release selected leases (their slots go back to the pool)"),
                  permissions=["release"])
    def release_selected(self, request, queryset):
        released = assignment.release_leases(list(queryset.values_list("id", flat=True)))
        self.message_user(request, ngettext("%(n)d lease released.", "%(n)d leases released.", released)
                          % {"n": released})


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
        return False  # only their worker corrects them (assignment.edit_annotation); reviews settle the rest

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
