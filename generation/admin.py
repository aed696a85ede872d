import tempfile
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Count
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from safesora.admin_display import AdminListMedia, clipped, poster_thumbnail, short_id, two_lines
from safesora.taxonomy import PROMPT_TYPES

from . import jobs
from .models import GenerationJob, Generator, JobState, Prompt, Video
from .prompt_import import PromptImportError, import_prompts


class PromptUploadForm(forms.Form):
    file = forms.FileField(label=_("Prompt file"),
                           help_text=_("JSONL, JSON list, CSV, or SafeSora's eval-prompt.json.gz"))
    default_type = forms.ChoiceField(
        label=_("Type for records without one"), required=False,
        choices=[("", _("none: such records are an error"))] + [(t, t) for t in PROMPT_TYPES])


class GenerateForm(forms.Form):
    generators = forms.ModelMultipleChoiceField(
        label=_("Generators"), queryset=Generator.objects.filter(enabled=True),
        widget=forms.CheckboxSelectMultiple)
    seeds = forms.IntegerField(label=_("Seeds per prompt"), min_value=1, max_value=100, initial=1)


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):
    list_display = ["short_text", "prompt_type", "split", "source", "created_at"]
    list_filter = ["prompt_type", "split", "source"]
    search_fields = ["text", "id"]
    readonly_fields = ["id", "text_hash", "created_at"]
    change_list_template = "admin/generation/prompt/change_list.html"
    list_per_page = 50
    show_full_result_count = False
    actions = ["generate_videos"]

    @admin.action(description=_("Generate videos of the selected prompts"), permissions=["change"])
    def generate_videos(self, request, queryset):
        form = GenerateForm(request.POST if "generate" in request.POST else None)
        if form.is_valid():
            created = jobs.create_jobs(queryset, list(form.cleaned_data["generators"]),
                                       range(form.cleaned_data["seeds"]))
            send_to_workers(self, request, created)
            return redirect("admin:generation_generationjob_changelist")
        context = {**self.admin_site.each_context(request), "form": form, "opts": self.model._meta,
                   "prompts": queryset, "title": _("Generate videos"),
                   "action_checkbox_name": ACTION_CHECKBOX_NAME,
                   "select_across": request.POST.get("select_across") == "1"}
        return TemplateResponse(request, "admin/generation/prompt/generate.html", context)

    @admin.display(description=_("text"))
    def short_text(self, obj: Prompt) -> str:
        return obj.text[:100]

    def get_urls(self):
        return [path("import/", self.admin_site.admin_view(self.import_view), name="generation_prompt_import"),
                *super().get_urls()]

    def import_view(self, request):
        if not self.has_add_permission(request):
            return redirect("admin:index")
        form = PromptUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            limit = settings.PROMPT_IMPORT_MAX_BYTES
            if upload.size > limit:
                form.add_error("file", _("The file is larger than %(limit)s bytes (PROMPT_IMPORT_MAX_BYTES). "
                                         "Nothing was imported.") % {"limit": f"{limit:,}"})
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            with tempfile.TemporaryDirectory() as tmp:
                target = Path(tmp) / Path(upload.name).name
                with target.open("wb") as out:
                    for chunk in upload.chunks():
                        out.write(chunk)
                try:
                    report = import_prompts(target, default_type=form.cleaned_data["default_type"] or None)
                except PromptImportError as exc:
                    form.add_error("file", f"{exc}. Nothing was imported.")
                else:
                    messages.success(request, report.summary())
                    for where, text in report.duplicates[:10]:
                        messages.warning(request, _("Duplicate skipped (%(where)s): %(text)s")
                                         % {"where": where, "text": text[:80]})
                    return redirect("admin:generation_prompt_changelist")
        context = {**self.admin_site.each_context(request), "form": form, "opts": self.model._meta,
                   "title": _("Import prompts")}
        return TemplateResponse(request, "admin/generation/prompt/import.html", context)


@admin.register(Generator)
class GeneratorAdmin(admin.ModelAdmin):
    list_display = ["name", "family", "pipeline_class", "checkpoint", "num_frames", "height", "width", "enabled"]
    list_filter = ["family", "enabled"]


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = ["id", "generator", "prompt", "seed", "state", "attempts", "pipeline_seconds",
                    "total_seconds", "worker_host", "created_at", "short_error"]
    list_filter = ["state", "generator"]
    raw_id_fields = ["prompt"]
    readonly_fields = ["state", "attempts", "error", "worker_host", "created_at", "started_at", "finished_at",
                       "task_id", "pipeline_seconds", "total_seconds"]
    change_list_template = "admin/generation/generationjob/change_list.html"
    actions = ["retry_jobs", "cancel_jobs"]
    show_full_result_count = False

    @admin.display(description=_("error"))
    def short_error(self, obj: GenerationJob) -> str:
        return obj.error[:120]

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {**(extra_context or {}), "state_table": state_table()})

    @admin.action(description=_("Retry the selected failed or cancelled jobs"), permissions=["change"])
    def retry_jobs(self, request, queryset):
        ids = jobs.retry(queryset)
        send_to_workers(self, request, GenerationJob.objects.filter(id__in=ids))

    @admin.action(description=_("Cancel the selected queued or running jobs"), permissions=["change"])
    def cancel_jobs(self, request, queryset):
        count = jobs.cancel(queryset)
        self.message_user(request, _("%(n)d jobs cancelled.") % {"n": count}, messages.SUCCESS)


def send_to_workers(model_admin: admin.ModelAdmin, request, job_set) -> None:
    """Enqueue queued jobs, or, with no broker, leave them queued: a web request must not run the models."""
    from .tasks import enqueue, run_jobs

    if run_jobs.app.conf.task_always_eager:
        model_admin.message_user(request, _(
            "%(n)d jobs are queued. No broker is configured, so nothing runs them in the background: "
            "run `python manage.py generate --queued` to make them here.")
            % {"n": job_set.filter(state=JobState.QUEUED).count()}, messages.WARNING)
    else:
        from safesora.celery import BrokerUnavailable

        try:
            sent = enqueue(job_set)
        except BrokerUnavailable as exc:  # Redis down: the jobs stay queued, nothing is lost
            model_admin.message_user(request, _(
                "The task queue is unreachable (%(error)s). The jobs stay queued: send them again later, "
                "or run `python manage.py generate --queued`.") % {"error": exc}, messages.ERROR)
            return
        model_admin.message_user(request, _("%(n)d jobs sent to the GPU workers.") % {"n": sent}, messages.SUCCESS)


def state_table() -> dict:
    """Job counts per generator and state, for the top of the job list."""
    states = JobState.values
    rows: dict[str, dict[str, int]] = {}
    for name, state, count in (GenerationJob.objects.order_by().values_list("generator__name", "state")
                               .annotate(n=Count("id"))):
        rows.setdefault(name, dict.fromkeys(states, 0))[state] = count
    table = [(name, [counts[s] for s in states], sum(counts.values())) for name, counts in sorted(rows.items())]
    return {"states": JobState.choices, "rows": table}


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = ["thumbnail", "video_id", "generator_origin", "prompt_text", "frames_and_size", "moderation_badge"]
    list_display_links = ["thumbnail", "video_id"]
    list_select_related = ["generator", "prompt"]
    list_filter = ["generator", "origin", "flagged"]
    search_fields = ["id", "prompt__text"]
    raw_id_fields = ["prompt", "job"]
    readonly_fields = ["id", "sha256", "created_at", "harm_scores", "moderated_at"]
    show_full_result_count = False

    Media = AdminListMedia

    @admin.display(description=_("poster"))
    def thumbnail(self, obj: Video) -> str:
        return poster_thumbnail(obj)

    @admin.display(description=_("id"), ordering="id")
    def video_id(self, obj: Video) -> str:
        return short_id(obj.pk)

    @admin.display(description=_("prompt"), ordering="prompt__text")
    def prompt_text(self, obj: Video) -> str:
        return clipped(obj.prompt.text)

    @admin.display(description=_("generator · origin"), ordering="generator__name")
    def generator_origin(self, obj: Video) -> str:
        return two_lines(obj.generator.name, obj.get_origin_display())

    @admin.display(description=_("frames · size"))
    def frames_and_size(self, obj: Video) -> str:
        return two_lines(_("%(n)s frames, %(s).1f s") % {"n": obj.num_frames, "s": obj.duration or 0},
                         f"{obj.width}×{obj.height}")

    @admin.display(description=_("moderation"), ordering="flagged")
    def moderation_badge(self, obj: Video) -> str:
        """Flagged videos stand out in the list; the categories over threshold say why."""
        if obj.moderated_at is None:
            return "—"
        if not obj.flagged:
            return format_html('<span class="moderation-ok">{}</span>', _("ok"))
        reasons = ", ".join((obj.harm_scores or {}).get("flagged_categories") or []) or _("unsafe")
        return format_html('<span class="moderation-flagged" style="background:#ba2121;color:#fff;padding:1px 6px;'
                           'border-radius:8px;white-space:nowrap">{}: {}</span>', _("flagged"), reasons)
