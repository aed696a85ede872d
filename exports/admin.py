from django.contrib import admin

from .models import ExportRun


@admin.register(ExportRun)
class ExportRunAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "state", "progress_done", "progress_total", "created_by", "created_at",
                    "finished_at"]
    list_filter = ["state"]
    readonly_fields = ["manifest", "output_path", "error", "task_id", "started_at", "finished_at"]
