from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from annotation.models import Campaign


class OnboardForm(forms.Form):
    people = forms.FileField(label=_("CSV of people"),
                             help_text=_("Columns: username, email, role, campaigns (names separated by ;)."))


class SignUpForm(UserCreationForm):
    email = forms.EmailField(label=_("Email (optional)"), required=False)

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")


class CodeForm(forms.Form):
    code = forms.RegexField(label=_("Invite code"), regex=r"^[A-Za-z0-9_-]{1,32}$", max_length=32)


class ReportForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To (inclusive)"), widget=forms.DateInput(attrs={"type": "date"}))
    campaign = forms.ModelChoiceField(Campaign.objects.all(), label=_("Campaign"), required=False,
                                      empty_label=_("all"))

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise forms.ValidationError(_("“From” must not be after “To”."))
        if start and end and (end - start).days > 366:
            raise forms.ValidationError(_("Choose at most a year."))
        return data

    @classmethod
    def initial_range(cls) -> dict:
        today = timezone.localdate()
        return {"start": today.replace(day=1).isoformat(), "end": today.isoformat()}
