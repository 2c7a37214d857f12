from django import forms
from django.utils.translation import gettext_lazy as _

from organisations.forms import TenantModelForm
from organisations.models import LANGUAGES
from organisations.phone import normalise_phone, region_of_current_organisation
from telephony.models import (
    WEEKDAY_CHOICES,
    AssistantSettings,
    Call,
    CustomVoice,
    EmergencyContact,
    Intent,
    PhoneNumber,
    TelephonySettings,
    VoiceAgent,
)


class CallFilterForm(forms.Form):
    """The calls list's filters (all optional, read from the query string)."""

    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        required=False,
        choices=[("", _("Any outcome")), *[c for c in Call.Outcome.choices if c[0]]],
    )
    direction = forms.ChoiceField(
        label=_("Direction"), required=False, choices=[("", _("Any")), *Call.Direction.choices]
    )
    emergency = forms.BooleanField(label=_("Emergencies only"), required=False)
    q = forms.CharField(label=_("Number or name"), required=False, max_length=100)


class PhoneNumberForm(TenantModelForm):
    class Meta:
        model = PhoneNumber
        fields = [
            "number",
            "label",
            "location",
            "is_primary",
            "active",
            "provider",
            "vapi_phone_number_id",
            "twilio_sid",
            "voice_enabled",
            "sms_enabled",
            "fallback_number",
        ]

    def _get_validation_exclusions(self):
        # Saving a primary number demotes the current one (PhoneNumber.save), so "one primary
        # number" is not a form error; the number's own uniqueness is still checked.
        return {*super()._get_validation_exclusions(), "organisation"}


class TelephonySettingsForm(TenantModelForm):
    twilio_auth_token = forms.CharField(
        label=_("Twilio auth token"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave empty to keep the saved token."),
    )
    reminder_hours = forms.CharField(
        label=_("Reminders (hours before)"),
        help_text=_("Comma-separated, for example 24, 2. Up to 168 hours (a week)."),
    )

    class Meta:
        model = TelephonySettings
        fields = [
            "twilio_account_sid",
            "twilio_auth_token",
            "sms_confirmations",
            "sms_reminders",
            "reminder_hours",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["reminder_hours"] = ", ".join(str(h) for h in self.instance.reminder_hours)
        self.initial["twilio_auth_token"] = ""

    def clean_twilio_auth_token(self):
        # Blank keeps the stored secret: it is never sent to the browser to be sent back.
        return self.cleaned_data["twilio_auth_token"] or self.instance.twilio_auth_token

    def clean_reminder_hours(self):
        try:
            hours = sorted(
                {
                    int(part)
                    for part in self.cleaned_data["reminder_hours"].split(",")
                    if part.strip()
                },
                reverse=True,
            )
        except ValueError as exc:
            raise forms.ValidationError(_("Use whole hours separated by commas.")) from exc
        if not hours or not all(1 <= h <= 168 for h in hours):
            raise forms.ValidationError(_("Each reminder must be between 1 and 168 hours before."))
        return hours


class AssistantSettingsForm(TenantModelForm):
    languages = forms.MultipleChoiceField(
        label=_("Languages"), choices=LANGUAGES, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = AssistantSettings
        fields = [
            "greeting",
            "after_hours_greeting",
            "after_hours_behaviour",
            "languages",
            "voice_agent",
            "custom_voice",
            "instructions",
            "transfer_number",
            "transfer_mode",
            "max_transfer_wait",
            "emergency_keywords",
            "recording_enabled",
            "max_call_duration",
            "blocked_numbers",
            "message_notify_number",
        ]
        widgets = {
            "greeting": forms.Textarea(attrs={"rows": 2}),
            "after_hours_greeting": forms.Textarea(attrs={"rows": 2}),
            "instructions": forms.Textarea(attrs={"rows": 4}),
            "emergency_keywords": forms.Textarea(attrs={"rows": 4}),
            "blocked_numbers": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["voice_agent"].queryset = VoiceAgent.objects.filter(active=True)
        self.fields["custom_voice"].queryset = CustomVoice.objects.filter(active=True)

    def clean_blocked_numbers(self):
        region = region_of_current_organisation()
        numbers, wrong = [], []
        for line in self.cleaned_data["blocked_numbers"].splitlines():
            if line.strip():
                try:
                    numbers.append(normalise_phone(line, region))
                except forms.ValidationError:
                    wrong.append(line.strip())
        if wrong:
            raise forms.ValidationError(
                _("Not phone numbers: %(numbers)s"), params={"numbers": ", ".join(wrong)}
            )
        return "\n".join(numbers)


class IntentForm(TenantModelForm):
    class Meta:
        model = Intent
        fields = ["name", "location", "phrases", "action", "active", "order"]
        widgets = {"phrases": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # One answer box per language; stored together in Intent.answers.
        for code, name in LANGUAGES:
            self.fields[f"answer_{code}"] = forms.CharField(
                label=_("Answer in %(language)s") % {"language": name},
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
                initial=self.instance.answers.get(code, ""),
            )

    def save(self, commit=True):
        self.instance.answers = {
            code: self.cleaned_data[f"answer_{code}"].strip()
            for code, _name in LANGUAGES
            if self.cleaned_data[f"answer_{code}"].strip()
        }
        return super().save(commit)


class EmergencyContactForm(TenantModelForm):
    available_days = forms.TypedMultipleChoiceField(
        label=_("Days on call"),
        choices=WEEKDAY_CHOICES,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = EmergencyContact
        fields = [
            "name",
            "phone",
            "role",
            "location",
            "priority",
            "active",
            "available_days",
            "available_from",
            "available_until",
            "escalation_minutes",
            "sms_enabled",
            "call_enabled",
            "notes",
        ]
        widgets = {
            "available_from": forms.TimeInput(attrs={"type": "time"}),
            "available_until": forms.TimeInput(attrs={"type": "time"}),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }

    def clean(self):
        data = super().clean()
        if (data.get("available_from") is None) != (data.get("available_until") is None):
            raise forms.ValidationError(_("Give both times, or neither for all day."))
        return data


class CustomVoiceForm(TenantModelForm):
    class Meta:
        model = CustomVoice
        fields = [
            "name",
            "provider",
            "voice_id",
            "voice_model",
            "language",
            "description",
            "active",
        ]
