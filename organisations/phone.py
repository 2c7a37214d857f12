"""Phone numbers: everything we store is E.164, parsed with Google's libphonenumber rules."""

import phonenumbers
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

DEFAULT_REGION = "US"


def normalise_phone(raw: str, region: str | None = None) -> str:
    """Return `raw` as E.164 (`+14155550100`), or raise ValidationError saying why not.

    Numbers written without a country code are read as numbers of `region` (the organisation's
    country); a leading + or 00 always wins.
    """
    text = (raw or "").strip()
    if not text:
        raise ValidationError(_("Enter a phone number."), code="required")
    if len(text) > 32:
        raise ValidationError(_("That is too long to be a phone number."), code="invalid")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, (region or DEFAULT_REGION).upper())
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            _("“%(value)s” is not a phone number."), code="invalid", params={"value": raw}
        ) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError(
            _("“%(value)s” is not a valid phone number for %(region)s."),
            code="invalid",
            params={"value": raw, "region": phonenumbers.region_code_for_number(parsed) or region},
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str) -> str:
    """International format for people: +1 415-555-0100."""
    if not e164:
        return ""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def region_of_current_organisation() -> str:
    from organisations.tenancy import current_organisation

    organisation = current_organisation()
    return (organisation.country if organisation else "") or DEFAULT_REGION


class PhoneFormField(forms.CharField):
    """Accepts any way people write a number and cleans it to E.164."""

    def __init__(self, *, region: str | None = None, **kwargs):
        self.region = region
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("inputmode", "tel")
        self.widget.attrs.setdefault("autocomplete", "tel")

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return ""
        return normalise_phone(value, self.region or region_of_current_organisation())


class PhoneNumberField(models.CharField):
    """A CharField holding E.164; forms normalise input with the organisation's country."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 16)
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": PhoneFormField, **kwargs})
