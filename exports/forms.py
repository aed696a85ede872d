from django import forms
from django.utils.translation import gettext_lazy as _

from annotation.aggregation import parse_share
from annotation.models import Campaign
from generation.models import Generator

from . import runs
from .options import ExportOptions, OptionsError


class NewExportForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100,
                           help_text=_("The release folder's name: letters, digits, '.', '_' or '-'."))
    seed = forms.IntegerField(label=_("Split seed"), initial=0,
                              help_text=_("The same seed and data give the same train/test split."))
    test_fraction = forms.FloatField(label=_("Test fraction"), initial=0.1, min_value=0, max_value=0.99,
                                     help_text=_("Share of prompts without a fixed split that go to test."))
    min_agreement = forms.CharField(
        label=_("Minimum agreement"), initial="0", max_length=20,
        help_text=_("Answers fewer annotators agreed on count as undecided; read to two decimals "
                    "(0.67 or 2/3: at least 2 of 3)."))
    include_incomplete = forms.BooleanField(label=_("Include pairs missing some annotations"), required=False)
    include_gold = forms.BooleanField(label=_("Include gold (control) pairs"), required=False)
    generators = forms.ModelMultipleChoiceField(
        label=_("Generators"), queryset=Generator.objects.all(), to_field_name="name", required=False,
        help_text=_("Only pairs whose two videos come from these generators. None selected: all."))
    campaigns = forms.ModelMultipleChoiceField(
        label=_("Campaigns"), queryset=Campaign.objects.all(), to_field_name="name", required=False,
        help_text=_("None selected: all."))
    since = forms.DateTimeField(label=_("Answers from"), required=False,
                                help_text=_("YYYY-MM-DD HH:MM; empty: from the start."))
    until = forms.DateTimeField(label=_("Answers before"), required=False,
                                help_text=_("YYYY-MM-DD HH:MM; empty: up to now. Reproduces the data as it stood."))
    include_videos = forms.BooleanField(label=_("Include video files"), required=False, initial=True)
    license = forms.CharField(label=_("License"), initial="cc-by-nc-4.0", max_length=100)

    def clean_min_agreement(self) -> float:
        try:
            return parse_share(self.cleaned_data["min_agreement"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.options = ExportOptions(
                name=data["name"], seed=data["seed"], test_fraction=data["test_fraction"],
                min_agreement=data["min_agreement"], complete_only=not data["include_incomplete"],
                exclude_gold=not data["include_gold"],
                generators=tuple(sorted(g.name for g in data["generators"])),
                campaigns=tuple(sorted(c.name for c in data["campaigns"])),
                since=data["since"], until=data["until"], include_videos=data["include_videos"],
                license=data["license"])
        except OptionsError as exc:
            raise forms.ValidationError(str(exc)) from None
        problem = runs.name_in_use(self.options.name)
        if problem:
            self.add_error("name", problem)
        return data
