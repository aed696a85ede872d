"""The exports admin: list with progress and state, a form to start one, cancel, streamed tar.gz download."""

from pathlib import Path

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from safesora.admin_display import AdminListMedia

from . import runs
from .forms import NewExportForm
from .models import ExportRun, ExportState
from .summary import empty_warning, export_summary, finished_message, manifest_tables, pair_count
from .tarstream import tar_gz_stream


@admin.register(ExportRun)
class ExportRunAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "state", "progress", "holds", "created_by", "created_at", "finished_at",
                    "short_error", "download"]
    list_display_links = ["id", "name"]
    list_filter = ["state"]
    actions = ["cancel_selected"]
    # The options and the manifest are shown as tables below the fields (change_form.html), not as JSON.
    readonly_fields = ["name", "state", "progress", "holds", "created_by", "created_at", "started_at", "finished_at",
                       "output_path", "error", "task_id", "download"]
    fields = readonly_fields
    change_list_template = "admin/exports/exportrun/change_list.html"
    Media = AdminListMedia
    change_form_template = "admin/exports/exportrun/change_form.html"

    def has_change_permission(self, request, obj=None):
        return False  # runs change only through exports.runs (the view page is read-only)

    def has_cancel_permission(self, request, obj=None) -> bool:
        """Cancelling changes a run: it needs the model's change permission (the form stays read-only)."""
        return super().has_change_permission(request, obj)

    @admin.display(description=_("progress"))
    def progress(self, run: ExportRun) -> str:
        if run.state in (ExportState.QUEUED, ExportState.RUNNING):
            return format_html('<progress value="{}" max="{}"></progress> {} / {} <small>{}</small>',
                               run.progress_done, max(run.progress_total, 1), run.progress_done,
                               run.progress_total, run.progress_message)
        return format_html("{} <small>({} / {})</small>", run.progress_message, run.progress_done,
                           run.progress_total)

    @admin.display(description=_("holds"))
    def holds(self, run: ExportRun) -> str:
        warning = empty_warning(run)
        if warning:
            return format_html('<strong class="export-empty" title="{}">⚠ {}</strong>', warning, _("0 pairs"))
        if run.state != ExportState.SUCCEEDED:
            return "-"
        count = pair_count(run)
        return format_html('<span title="{}">{}</span>', export_summary(run),
                           ngettext("%(n)d pair", "%(n)d pairs", count) % {"n": count})

    @admin.display(description=_("error"))
    def short_error(self, run: ExportRun) -> str:
        return run.error[:120]

    @admin.display(description=_("download"))
    def download(self, run: ExportRun) -> str:
        if run.state != ExportState.SUCCEEDED or not Path(run.output_path).is_dir():
            return "-"
        return format_html('<a href="{}">{}.tar.gz</a>',
                           reverse("admin:exports_exportrun_download", args=[run.pk]), run.name)

    @admin.action(description=_("Cancel the selected exports"), permissions=["cancel"])
    def cancel_selected(self, request, queryset):
        count = sum(runs.cancel(run, request.user) for run in queryset)
        self.message_user(request, ngettext("%(count)d export cancelled.", "%(count)d exports cancelled.", count)
                          % {"count": count})

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/download/", wrap(self.download_view), name="exports_exportrun_download"),
            path("<int:pk>/cancel/", wrap(self.cancel_view), name="exports_exportrun_cancel"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        runs.fail_dead_runs()
        active = ExportRun.objects.filter(state__in=runs.ACTIVE).exists()
        return super().changelist_view(request, {**(extra_context or {}), "refresh": active})

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = NewExportForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            run = runs.enqueue(form.options, request.user)
            run.refresh_from_db()  # without a broker it has already run, in this request
            messages.add_message(request, *finished_message(run))
            return redirect("admin:exports_exportrun_changelist")
        context = {**self.admin_site.each_context(request), "form": form, "opts": self.model._meta,
                   "title": _("New export")}
        return TemplateResponse(request, "admin/exports/exportrun/new.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, object_id)
        extra = {}
        if run is not None:
            warning = empty_warning(run)
            if warning and request.method == "GET":
                messages.warning(request, warning)
            extra = {"tables": manifest_tables(run), "summary": export_summary(run)}
        extra["can_cancel"] = self.has_cancel_permission(request)
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def cancel_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        run = get_object_or_404(ExportRun, pk=pk)
        if not self.has_cancel_permission(request, run):
            raise PermissionDenied
        if runs.cancel(run, request.user):
            messages.success(request, _("Export %(name)s cancelled.") % {"name": run.name})
        else:
            messages.warning(request, _("Export %(name)s had already ended.") % {"name": run.name})
        return redirect("admin:exports_exportrun_change", pk)

    def download_view(self, request: HttpRequest, pk: int) -> StreamingHttpResponse:
        run = get_object_or_404(ExportRun, pk=pk)
        if not self.has_view_permission(request, run):
            raise PermissionDenied
        folder = Path(run.output_path)
        if run.state != ExportState.SUCCEEDED or not folder.is_dir():
            raise Http404(_("This export has no release to download."))
        response = StreamingHttpResponse(tar_gz_stream(folder, run.name), content_type="application/gzip")
        response["Content-Disposition"] = f'attachment; filename="{run.name}.tar.gz"'
        return response
