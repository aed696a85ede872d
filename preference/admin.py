
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from exports.models import ExportRun, ExportState
from moderation.admin import VersionedModelAdmin, read_report_file, report_file
from safesora.admin import NotAddedHereAdmin

from .data import DIMENSIONS
from .models import BestOfN, BestOfNCandidate, ModelState, PreferenceModel, VideoScore
from .report import REPORT_FILES, REPORT_IMAGES


class TrainForm(forms.Form):
    export_run = forms.ModelChoiceField(label=_("Export"), required=False, queryset=ExportRun.objects.none(),
                                        help_text=_("A finished export run; or give a release folder below."))
    folder = forms.CharField(label=_("or release folder"), required=False, max_length=500,
                             help_text=_("A path on the worker holding a SafeSora preference dataset."))
    dimension = forms.ChoiceField(label=_("Dimension"), choices=[("all", _("all six")),
                                                                 *[(d, d.replace("_", " ")) for d in DIMENSIONS]])
    epochs = forms.IntegerField(label=_("Epochs"), min_value=1, max_value=500, initial=20)
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


@admin.register(PreferenceModel)
class PreferenceModelAdmin(VersionedModelAdmin):
    list_display = ["dimension", "version", "kind", "state", "progress_bar", "active_badge", "agreement",
                    "cost_sign", "export_run", "created_at", "report_link"]
    list_filter = ["dimension", "kind", "state", "is_active"]
    readonly_fields = ["dimension", "version", "kind", "state", "progress", "is_active", "config", "artifact_path",
                       "report_path", "export_run", "snapshot_path", "error", "created_at", "finished_at",
                       "report_link"]
    exclude = ["metrics"]
    report_files = frozenset(REPORT_FILES.values())

    @admin.display(description=_("progress"))
    def progress_bar(self, obj: PreferenceModel) -> str:
        return format_html('<progress max="1" value="{}"></progress> {}%', obj.progress, round(obj.progress * 100))

    @admin.display(description=_("active"), ordering="is_active")
    def active_badge(self, obj: PreferenceModel) -> str:
        return format_html('<strong style="color:#1a7f37">{}</strong>', _("active")) if obj.is_active else "—"

    @admin.display(description=_("held-out agreement"))
    def agreement(self, obj: PreferenceModel) -> str:
        s = obj.summary()
        if s["agreement"] is None:
            return "—"
        return f"{s['agreement']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}]"

    @admin.display(description=_("cost sign accuracy"))
    def cost_sign(self, obj: PreferenceModel) -> str:
        value = obj.summary()["cost_sign_accuracy"]
        return "—" if value is None else f"{value:.3f}"

    def add_view(self, request, form_url="", extra_context=None):
        """Adding a model means training one (or six): a form for the job, handed to the cpu queue."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        from moderation.network import model_config

        from .jobs import JobError, create_models
        from .tasks import train_preference_model
        from .train import PreferenceConfig

        form = TrainForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            source = data["export_run"].pk if data["export_run"] else data["folder"]
            try:
                config = PreferenceConfig(epochs=data["epochs"], seed=data["seed"], model=model_config(
                    frames=data["frames"], size=data["size"], backbone=data["backbone"].strip(),
                    text=data["text"].strip()))
                models = create_models(source, data["dimension"], config)
            except (JobError, ValueError) as exc:
                form.add_error(None, str(exc))
            else:
                from safesora.celery import BrokerUnavailable

                for model in models:
                    try:
                        train_preference_model.delay(model.pk, activate=data["activate"])
                    except BrokerUnavailable as exc:  # Redis down: no half-started version left behind
                        error = _("the task queue is unreachable: %(error)s") % {"error": exc}
                        PreferenceModel.objects.filter(pk=model.pk, state=ModelState.TRAINING).update(
                            state=ModelState.FAILED, error=error)
                    model.refresh_from_db()  # without a broker it has already trained, in this request
                    self.message_user(request, *training_message(model))
                return redirect("admin:preference_preferencemodel_changelist")
        context = {**self.admin_site.each_context(request), "form": form, "opts": self.model._meta,
                   "title": _("Train reward and cost models")}
        return TemplateResponse(request, "admin/preference/preferencemodel/train.html", context)

    def report_view(self, request, pk: int):
        model = get_object_or_404(PreferenceModel, pk=pk)
        if not self.has_view_permission(request, model):
            raise PermissionDenied
        metrics = (model.metrics or {}).get("test")
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "model": model,
                   "title": _("Evaluation report: %(model)s") % {"model": model}, "metrics": metrics,
                   "history": (model.metrics or {}).get("history", []),
                   "card": read_report_file(model, REPORT_FILES["card"]),
                   "images": [name for name in REPORT_IMAGES if report_file(model, name)]}
        return TemplateResponse(request, "admin/preference/preferencemodel/report.html", context)


class CandidateInline(admin.TabularInline):
    model = BestOfNCandidate
    fields = ["video", "seed", "reward", "cost", "chosen"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BestOfN)
class BestOfNAdmin(NotAddedHereAdmin):
    not_added_here = _("Best-of-N choices are made by `python manage.py generate ... --best-of N`, which records "
                       "every candidate's scores here.")
    list_display = ["prompt", "generator", "chosen", "rule", "reward_model", "cost_model", "created_at"]
    list_filter = ["generator", "rule"]
    readonly_fields = ["prompt", "generator", "chosen", "rule", "reward_model", "cost_model", "created_at"]
    inlines = [CandidateInline]


@admin.register(VideoScore)
class VideoScoreAdmin(NotAddedHereAdmin):
    not_added_here = _("Scores are computed by the leaderboard, Best-of-N and uncertainty-driven pairing.")
    list_display = ["video", "model", "score", "created_at"]
    list_filter = ["model"]
    raw_id_fields = ["video"]
    readonly_fields = ["video", "model", "score", "created_at"]
    show_full_result_count = False


def training_message(model: PreferenceModel) -> tuple[str, int]:
    """(sentence, level) once training was started: queued, or (without a broker) what happened."""
    if model.state == ModelState.TRAINING:
        return _("Training of %(model)s was queued; this list shows its progress.") % {"model": model}, messages.SUCCESS
    if model.state == ModelState.FAILED:
        return _("Training of %(model)s failed: %(error)s") % {"model": model, "error": model.error}, messages.ERROR
    agreement = model.summary()["agreement"]
    shown = "n/a" if agreement is None else f"{agreement:.3f}"
    return _("Training of %(model)s finished: agreement with the crowd %(agreement)s on the test split.") % {
        "model": model, "agreement": shown}, messages.SUCCESS
