import zoneinfo

import phonenumbers
from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from organisations.models import (
    Customer,
    Invitation,
    Location,
    Membership,
    Organisation,
    User,
    validate_timezone,
)
from organisations.roles import Role
from organisations.tenancy import TenantModel, current_organisation

TIMEZONE_CHOICES = [
    (name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())
]


class TenantModelForm(forms.ModelForm):
    """ModelForm for tenant rows.

    Choice fields for other tenant models list only the current organisation's rows (Django's
    default would use the all-organisations manager), and uniqueness is checked within the
    organisation, so a duplicate is a field error rather than a database error.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.organisation_id is None:
            self.instance.organisation = current_organisation()
        for field in self.fields.values():
            queryset = getattr(field, "queryset", None)
            if queryset is not None and issubclass(queryset.model, TenantModel):
                field.queryset = queryset.model.objects.all()

    def _get_validation_exclusions(self):
        exclusions = super()._get_validation_exclusions()
        exclusions.discard("organisation")
        return exclusions


class EmailLoginForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("Email"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )


class PasswordFieldsMixin(forms.Form):
    password1 = forms.CharField(
        label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label=_("Password again"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_password2(self):
        password1, password2 = self.cleaned_data.get("password1"), self.cleaned_data["password2"]
        if password1 and password1 != password2:
            raise forms.ValidationError(_("The two passwords differ."))
        user = User(
            email=self.cleaned_data.get("email", ""),
            full_name=self.cleaned_data.get("full_name", ""),
        )
        password_validation.validate_password(password2, user)
        return password2


class SignupForm(PasswordFieldsMixin):
    """A clinic owner's first visit: their account, the organisation and its first location."""

    full_name = forms.CharField(label=_("Your name"), max_length=150)
    email = forms.EmailField(label=_("Work email"))
    organisation_name = forms.CharField(label=_("Clinic or business name"), max_length=200)
    industry = forms.ChoiceField(label=_("Industry"), choices=Organisation.Industry.choices)
    country = forms.CharField(label=_("Country code"), max_length=2, initial="US")
    timezone = forms.ChoiceField(
        label=_("Time zone"), choices=TIMEZONE_CHOICES, initial="America/New_York"
    )
    field_order = [
        "full_name",
        "email",
        "password1",
        "password2",
        "organisation_name",
        "industry",
        "country",
        "timezone",
    ]

    def clean_email(self):
        email = self.cleaned_data["email"].lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(_("An account with this email exists. Sign in instead."))
        return email

    def clean_country(self):
        return clean_country_code(self.cleaned_data["country"])


def clean_country_code(value: str) -> str:
    code = value.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise forms.ValidationError(_("Use a two-letter country code such as US, GB or ES."))
    return code


class NewOrganisationForm(forms.Form):
    """For a signed-in user who belongs to no organisation yet, or wants another one."""

    organisation_name = SignupForm.base_fields["organisation_name"]
    industry = SignupForm.base_fields["industry"]
    country = SignupForm.base_fields["country"]
    timezone = SignupForm.base_fields["timezone"]

    def clean_country(self):
        return clean_country_code(self.cleaned_data["country"])


class AcceptInvitationSignupForm(PasswordFieldsMixin):
    full_name = forms.CharField(label=_("Your name"), max_length=150)


class OrganisationForm(forms.ModelForm):
    class Meta:
        model = Organisation
        fields = ["name", "industry", "country", "default_language", "retention_days"]

    def clean_country(self):
        return clean_country_code(self.cleaned_data["country"])


class LocationForm(TenantModelForm):
    timezone = forms.ChoiceField(
        label=_("Time zone"), choices=TIMEZONE_CHOICES, validators=[validate_timezone]
    )

    class Meta:
        model = Location
        fields = ["name", "address", "phone", "timezone"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.STAFF)

    def __init__(self, *args, inviter: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        # Only an owner can hand out ownership.
        if inviter.role != Role.OWNER:
            self.fields["role"].choices = [c for c in Role.choices if c[0] != Role.OWNER]

    def clean_email(self):
        email = self.cleaned_data["email"].lower()
        if Membership.objects.filter(user__email__iexact=email).exists():
            raise forms.ValidationError(
                _("%(email)s is already a member."), params={"email": email}
            )
        if Invitation.objects.filter(
            email__iexact=email, status=Invitation.Status.PENDING
        ).exists():
            raise forms.ValidationError(
                _("%(email)s already has a pending invitation: resend it from the list below."),
                params={"email": email},
            )
        return email


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("What uses it, e.g. “Practice software sync”.")
    )
    role = forms.ChoiceField(
        label=_("Access"),
        choices=[c for c in Role.choices if c[0] != Role.OWNER],
        initial=Role.VIEWER,
        help_text=_("Viewer keys read; staff keys also create and change records."),
    )

    def __init__(self, *args, creator: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        # A key never has more power than the person who made it.
        self.fields["role"].choices = [
            c for c in self.fields["role"].choices if creator.allows(c[0])
        ]


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class CustomerForm(TenantModelForm):
    class Meta:
        model = Customer
        fields = [
            "name",
            "phone",
            "email",
            "location",
            "preferred_language",
            "notes",
            "sms_opt_out",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["full_name", "language"]
