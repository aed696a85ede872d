from django.contrib import admin

from .models import ModerationModel, Prediction


@admin.register(ModerationModel)
class ModerationModelAdmin(admin.ModelAdmin):
    list_display = ["version", "name", "state", "is_active", "export_run", "created_at"]
    list_filter = ["state", "is_active"]


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = ["id", "video", "model", "unsafe_probability", "flagged", "created_at"]
    list_filter = ["flagged", "model"]
    raw_id_fields = ["video"]
    show_full_result_count = False
