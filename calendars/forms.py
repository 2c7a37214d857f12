from datetime import datetime

from django import forms
from django.forms import modelformset_factory
from django.utils.translation import gettext_lazy as _

from calendars.models import Appointment, CalendarConnection, Closure, Service, WorkingHours
from organisations.forms import TenantModelForm
from organisations.models import LANGUAGES, Location
from organisations.phone import PhoneFormField
from organisations.tenancy import TenantModel

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class TenantForm(forms.Form):
    """A plain form whose choices of tenant rows list only the current organisation's: each
    such field's queryset (declared with `all_organisations`) is narrowed when the form is made."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            queryset = getattr(field, "queryset", None)
            if queryset is not None and issubclass(queryset.model, TenantModel):
                field.queryset = queryset.model.objects.all() & queryset


def locations_field():
    return forms.ModelChoiceField(
        queryset=Location.all_organisations.all(), label=_("Location"), empty_label=None
    )


def services_field(label=None):
    return forms.ModelChoiceField(
        queryset=Service.all_organisations.filter(active=True), label=label or _("Service")
    )


class ServiceForm(TenantModelForm):
    offered_at = forms.ModelMultipleChoiceField(
        queryset=Location.all_organisations.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Offered at"),
        help_text=_("Leave all unticked to offer it at every location."),
    )

    class Meta:
        model = Service
        fields = [
            "name",
            "description",
            "duration",
            "buffer_before",
            "buffer_after",
            "price",
            "min_notice",
            "booking_horizon",
            "slot_interval",
            "active",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["offered_at"].queryset = Location.objects.all()
        if self.instance.pk:
            self.fields["offered_at"].initial = list(self.instance.locations.all())

    def _save_m2m(self):
        super()._save_m2m()
        self.instance.set_locations(self.cleaned_data["offered_at"])


class WorkingHoursForm(TenantModelForm):
    class Meta:
        model = WorkingHours
        fields = ["weekday", "start_time", "end_time"]
        widgets = {"start_time": TIME, "end_time": TIME}


WorkingHoursFormSet = modelformset_factory(
    WorkingHours, form=WorkingHoursForm, extra=3, can_delete=True
)


class ClosureForm(TenantModelForm):
    class Meta:
        model = Closure
        fields = ["location", "start_date", "end_date", "start_time", "end_time", "reason"]
        widgets = {"start_date": DATE, "end_date": DATE, "start_time": TIME, "end_time": TIME}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].empty_label = _("Every location")

    def clean(self):
        data = super().clean()
        same_day = data.get("start_date") and data.get("start_date") == data.get("end_date")
        start_time, end_time = data.get("start_time"), data.get("end_time")
        if same_day and start_time and end_time and end_time <= start_time:
            self.add_error("end_time", _("The closure must end after it starts."))
        return data


class LocalTimeForm(TenantForm):
    """A date and time the user means in the location's own time zone."""

    date = forms.DateField(label=_("Date"), widget=DATE)
    time = forms.TimeField(label=_("Time"), widget=TIME)

    def local_start(self, location: Location) -> datetime:
        return datetime.combine(
            self.cleaned_data["date"], self.cleaned_data["time"], tzinfo=location.zone
        )


class AppointmentForm(LocalTimeForm):
    location = locations_field()
    service = services_field()
    name = forms.CharField(label=_("Name"), max_length=200)
    phone = PhoneFormField(label=_("Phone"), required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGES, initial="en")
    urgency = forms.ChoiceField(
        label=_("Urgency"), choices=Appointment.Urgency.choices, initial="normal"
    )
    is_emergency = forms.BooleanField(label=_("Emergency"), required=False)
    notes = forms.CharField(
        label=_("Notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    field_order = ["location", "service", "date", "time", "name", "phone", "email"]


class ConnectGoogleForm(TenantForm):
    location = locations_field()


class CalcomOAuthForm(TenantForm):
    location = locations_field()
    event_type_id = forms.RegexField(
        regex=r"^\d+$",
        label=_("Event type id"),
        help_text=_("The number at the end of the event type's address in Cal.com."),
    )
    service = services_field(_("Record Cal.com bookings as"))


class CalcomApiKeyForm(CalcomOAuthForm):
    api_key = forms.CharField(
        label=_("API key"),
        widget=forms.PasswordInput,
        help_text=_("Cal.com → Settings → Developer → API keys. Starts with cal_."),
    )
    field_order = ["location", "api_key", "event_type_id", "service"]


class ConnectionSettingsForm(TenantModelForm):
    """What can be changed on a connection without connecting again."""

    class Meta:
        model = CalendarConnection
        fields = ["calendar_id", "event_type_id", "service"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.provider == CalendarConnection.Provider.GOOGLE:
            del self.fields["event_type_id"], self.fields["service"]
            self.fields["calendar_id"].required = True
        else:
            del self.fields["calendar_id"]
            self.fields["event_type_id"].required = True
            self.fields["service"].queryset = Service.objects.filter(active=True)


class AvailabilityForm(TenantForm):
    location = locations_field()
    service = services_field()
    date = forms.DateField(label=_("From"), widget=DATE)
