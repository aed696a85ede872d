from pathlib import Path

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from exports.models import ExportRun, ExportState
from safesora.admin import NotAddedHereAdmin
from safesora.taxonomy import HARM_BY_KEY, HARM_KEYS

from .evaluate import REPORT_FILES, UNSAFE
from .models import ModelState, ModerationModel, Prediction

REPORT_IMAGES = {REPORT_FILES["pr_curves"], REPORT_FILES["per_category"]}


class TrainForm(forms.Form):
    export_run = forms.ModelChoiceField(
        label=_("Export"), required=False, queryset=ExportRun.objects.none(),
        help_text=_("A finished export run; or give a release folder below."))
    folder = forms.CharField(label=_("or release folder"), required=False, max_length=500,
                             help_text=_("A path on the training worker holding a SafeSora label dataset."))
    epochs = forms.IntegerField(label=_("Epochs"), min_value=1, max_value=500, initial=15)
    frames = forms.IntegerField(label=_("Frames per video"), min_value=1, max_value=64, initial=8)
    size = forms.IntegerField(label=_("Frame size (small backbone)"), min_value=16, max_value=512, initial=64)
    backbone = forms.CharField(label=_("Visual backbone"), initial="small", max_length=300,
                               help_text=_("small, or hf:<local path or hub id> of a CLIP/SigLIP image encoder"))
    text = forms.CharField(label=_("Text encoder"), initial="hashed", max_length=300,
                           help_text=_("hashed, minilm, or hf:<local path or hub id>"))
    seed = forms.IntegerField(label=_("Seed"), min_value=0, initial=0)
    activate = forms.BooleanField(label=_("Activate when training succeeds"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["export_run"].queryset = ExportRun.objects.filter(state=ExportState.SUCCEEDED)

    def clean(self):
        data = super().clean()
        if bool(data.get("export_run")) == bool(data.get("folder")):
            raise ValidationError(_("Choose an export or give a folder (one of the two)."))
        return data


class VersionedModelAdmin(admin.ModelAdmin):
    """Shared by moderation and preference models: a link to the report, activation through the model."""

    report_files: frozenset[str] = frozenset()  # the report files that may be downloaded
    actions = ["activate_model", "deactivate_models"]

    def _url_name(self, suffix: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{suffix}"

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/report/", view(self.report_view), name=self._url_name("report")),
            path("<int:pk>/report/<str:filename>", view(self.report_file_view), name=self._url_name("report_file")),
            *super().get_urls(),
        ]

    @admin.display(description=_("report"))
    def report_link(self, obj) -> str:
        if not obj.report_path:
            return "—"
        return format_html('<a href="{}">{}</a>', reverse(f"admin:{self._url_name('report')}", args=[obj.pk]),
                           _("evaluation report"))

    def report_file_view(self, request, pk: int, filename: str):
        model = get_object_or_404(self.model, pk=pk)
        if not self.has_view_permission(request, model):
            raise PermissionDenied
        found = report_file(model, filename) if filename in self.report_files else None
        if found is None:
            raise Http404
        return FileResponse(found.open("rb"), filename=filename)

    @admin.action(description=_("Activate the selected model"), permissions=["change"])
    def activate_model(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one model to activate."), messages.ERROR)
            return
        model = queryset.get()
        try:
            model.activate()
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        self.message_user(request, _("%(model)s is now active.") % {"model": model}, messages.SUCCESS)

    @admin.action(description=_("Deactivate the selected models"), permissions=["change"])
    def deactivate_models(self, request, queryset):
        count = queryset.filter(is_active=True).update(is_active=False)
        self.message_user(request, ngettext("%(count)d model deactivated.", "%(count)d models deactivated.", count)
                          % {"count": count}, messages.SUCCESS)


@admin.register(ModerationModel)
class ModerationModelAdmin(VersionedModelAdmin):
    list_display = ["version", "name", "state", "active_badge", "macro_f1", "unsafe_auroc", "export_run",
                    "created_at", "report_link"]
    list_filter = ["state", "is_active"]
    # Configuration, thresholds and metrics as tables (the report page has the full evaluation), not JSON.
    readonly_fields = ["version", "state", "is_active", "held_out", "report_link", "config_table", "thresholds_table",
                       "artifact_path", "report_path", "export_run", "snapshot_path", "error", "created_at",
                       "finished_at"]
    exclude = ["metrics", "config", "thresholds"]
    report_files = frozenset(REPORT_FILES.values())

    @admin.display(description=_("active"), ordering="is_active")
    def active_badge(self, obj: ModerationModel) -> str:
        if not obj.is_active:
            return "—"
        return format_html('<strong style="color:#1a7f37">{}</strong>', _("active"))

    @admin.display(description=_("macro-F1"))
    def macro_f1(self, obj: ModerationModel) -> str:
        return _fmt(obj.summary()["macro_f1"])

    @admin.display(description=_("unsafe AUROC"))
    def unsafe_auroc(self, obj: ModerationModel) -> str:
        return _fmt(obj.summary()["unsafe_auroc"])

    @admin.display(description=_("held-out figures"))
    def held_out(self, obj: ModerationModel) -> str:
        test = (obj.metrics or {}).get("test") or {}
        if not test:
            return "—"
        summary = obj.summary()
        return format_html("{} {} · macro-F1 {} · macro-AUROC {} · unsafe AUROC {} · unsafe F1 {}",
                           test.get("samples", 0), _("videos"), _fmt(summary["macro_f1"]),
                           _fmt(summary["macro_auroc"]), _fmt(summary["unsafe_auroc"]), _fmt(summary["unsafe_f1"]))

    @admin.display(description=_("training configuration"))
    def config_table(self, obj: ModerationModel) -> str:
        train = dict((obj.config or {}).get("train") or {})
        rows = [(k, v) for k, v in sorted(train.items()) if k != "model"]
        rows += [(f"model.{k}", v) for k, v in sorted((train.get("model") or {}).items())]
        return _table("moderation-config", rows)

    @admin.display(description=_("thresholds"))
    def thresholds_table(self, obj: ModerationModel) -> str:
        labels = {k: f"{c.code} {c.name}" for k, c in HARM_BY_KEY.items()}
        return _table("moderation-thresholds", [(labels.get(k, k), _fmt(v)) for k, v in (obj.thresholds or {}).items()])

    def add_view(self, request, form_url="", extra_context=None):
        """Adding a model means training one: a form for the job, handed to the train queue."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        from .jobs import JobError, create_model
        from .network import model_config
        from .tasks import train_model
        from .train import TrainConfig

        form = TrainForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            source = data["export_run"].pk if data["export_run"] else data["folder"]
            try:
                config = TrainConfig(epochs=data["epochs"], seed=data["seed"],
                                     model=model_config(frames=data["frames"], size=data["size"],
                                                        backbone=data["backbone"].strip(), text=data["text"].strip()))
                model = create_model(source, config)
            except (JobError, ValueError) as exc:
                form.add_error(None, str(exc))
            else:
                from safesora.celery import BrokerUnavailable

                try:
                    train_model.delay(model.pk, activate=data["activate"])
                except BrokerUnavailable as exc:  # Redis down: no half-started version left behind
                    ModerationModel.objects.filter(pk=model.pk, state=ModelState.TRAINING).update(
                        state=ModelState.FAILED, error=_("the task queue is unreachable: %(error)s") % {"error": exc})
                model.refresh_from_db()  # without a broker it has already trained, in this request
                self.message_user(request, *training_message(model))
                return redirect("admin:moderation_moderationmodel_change", model.pk)
        context = {**self.admin_site.each_context(request), "form": form, "opts": self.model._meta,
                   "title": _("Train a moderation model")}
        return TemplateResponse(request, "admin/moderation/moderationmodel/train.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        model = self.get_object(request, object_id)
        warning = model.size_warning() if model is not None and request.method == "GET" else None
        if warning:
            queued = messages.get_messages(request)
            already = any(str(warning) in str(m) for m in queued)  # the train form's message says it
            queued.used = False  # looking must not consume them
            if not already:
                messages.warning(request, warning)
        return super().change_view(request, object_id, form_url, extra_context)

    def report_view(self, request, pk: int):
        model = get_object_or_404(ModerationModel, pk=pk)
        if not self.has_view_permission(request, model):
            raise PermissionDenied
        metrics = (model.metrics or {}).get("test")
        rows = []
        if metrics:
            for key in [*HARM_KEYS, UNSAFE]:
                m = metrics["categories"].get(key) or metrics[key]
                rows.append({"key": key, "code": HARM_BY_KEY[key].code if key in HARM_BY_KEY else "",
                             "name": HARM_BY_KEY[key].name if key in HARM_BY_KEY else _("unsafe (video level)"),
                             **{f: _fmt(m.get(f)) for f in ("precision", "recall", "f1", "auroc",
                                                            "average_precision", "threshold")},
                             "support": m["support"]})
        card = read_report_file(model, REPORT_FILES["card"])
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "model": model,
                   "title": _("Evaluation report: %(model)s") % {"model": model}, "metrics": metrics, "rows": rows,
                   "warning": model.size_warning(),
                   "macro": {k: _fmt(v) for k, v in (metrics or {}).get("macro", {}).items()},
                   "micro": {k: _fmt(v) for k, v in (metrics or {}).get("micro", {}).items()},
                   "history": (model.metrics or {}).get("history", []), "card": card,
                   "images": [name for name in sorted(REPORT_IMAGES) if report_file(model, name)]}
        return TemplateResponse(request, "admin/moderation/moderationmodel/report.html", context)



def training_message(model: ModerationModel) -> tuple[str, int]:
    """(sentence, level) once training was started: what happened to it (without a broker it has run)."""
    if model.state == ModelState.TRAINING:
        return _("Training of %(model)s was queued; this page shows its progress.") % {"model": model}, messages.SUCCESS
    if model.state == ModelState.FAILED:
        return _("Training of %(model)s failed: %(error)s") % {"model": model, "error": model.error}, messages.ERROR
    warning = model.size_warning()
    if warning:
        return _("Training of %(model)s finished. %(warning)s") % {"model": model, "warning": warning}, \
            messages.WARNING
    summary = model.summary()
    return _("Training of %(model)s finished: macro-F1 %(f1)s, unsafe AUROC %(auroc)s on %(n)s held-out "
             "videos.") % {"model": model, "f1": _fmt(summary["macro_f1"]), "auroc": _fmt(summary["unsafe_auroc"]),
                           "n": (model.metrics.get("test") or {}).get("samples", 0)}, messages.SUCCESS


def report_file(model, filename: str) -> Path | None:
    """A file of a versioned model's report folder, if it exists."""
    if not model.report_path:
        return None
    candidate = Path(model.report_path) / filename
    return candidate if candidate.is_file() else None


def read_report_file(model, filename: str) -> str:
    found = report_file(model, filename)
    return found.read_text(encoding="utf-8") if found else ""


def _table(html_id: str, rows: list[tuple]) -> str:
    if not rows:
        return "—"
    return format_html('<table id="{}" class="compact">{}</table>', html_id, format_html_join(
        "", '<tr><th>{}</th><td>{}</td></tr>', ((k, "—" if v is None else v) for k, v in rows)))


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


@admin.register(Prediction)
class PredictionAdmin(NotAddedHereAdmin):
    not_added_here = _("Predictions are not entered by hand. The active moderation model screens every new video "
                       "as it is generated; to score a video yourself use `python manage.py moderate VIDEO_ID` or "
                       "POST /api/moderation/score.")
    list_display = ["id", "video", "model", "unsafe_probability", "flagged", "created_at"]
    list_filter = ["flagged", "model"]
    raw_id_fields = ["video"]
    readonly_fields = ["video", "model", "scores", "unsafe_probability", "flagged", "created_at"]
    show_full_result_count = False

