import phonenumbers
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from organisations.models import Customer
from organisations.phone import normalise_phone
from organisations.tenancy import tenant


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(415) 555-0132", "US", "+14155550132"),
        ("415.555.0132", "US", "+14155550132"),
        ("+1 415 555 0132", "GB", "+14155550132"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("0044 20 7946 0958", "US", "+442079460958"),
        ("612 34 56 78", "ES", "+34612345678"),
    ],
)
def test_numbers_are_stored_as_e164_reading_local_ones_in_the_organisations_country(
    raw, region, expected
):
    assert normalise_phone(raw, region) == expected


@pytest.mark.parametrize(
    "raw", ["", "12", "hello", "+1 555", "0000000000000000000000", "+999 1234"]
)
def test_bad_numbers_are_a_validation_error(raw):
    with pytest.raises(ValidationError):
        normalise_phone(raw, "US")


@given(st.text(max_size=40))
def test_any_text_is_either_valid_e164_or_a_validation_error_never_a_crash(text):
    try:
        result = normalise_phone(text, "US")
    except ValidationError:
        return
    parsed = phonenumbers.parse(result, None)
    assert phonenumbers.is_valid_number(parsed)
    assert result.startswith("+")
    assert result[1:].isdigit()


@given(st.sampled_from(["US", "GB", "ES", "DE", "MX"]))
def test_a_countrys_example_number_round_trips(region):
    example = phonenumbers.example_number(region)
    national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    assert normalise_phone(national, region) == e164
    assert normalise_phone(e164, "US") == e164


@pytest.mark.django_db
def test_customer_form_normalises_and_rejects_numbers(org, staff, client_for):
    client = client_for(staff)
    bad = client.post(reverse("organisations:customer_create"), {"name": "X", "phone": "12345"})
    assert bad.status_code == 200
    assert b"not a valid phone number" in bad.content or b"is not a phone number" in bad.content
    good = client.post(
        reverse("organisations:customer_create"),
        {"name": "Amy", "phone": "020 7946 0958", "preferred_language": "en"},
    )
    assert good.status_code == 302
    with tenant(org):
        assert Customer.objects.get(name="Amy").phone == "+442079460958"


@pytest.mark.django_db
def test_a_duplicate_number_is_a_field_error_not_a_crash(org, staff, client_for):
    client = client_for(staff)
    data = {"name": "Amy", "phone": "+442079460958", "preferred_language": "en"}
    client.post(reverse("organisations:customer_create"), data)
    again = client.post(reverse("organisations:customer_create"), {**data, "name": "Bo"})
    assert again.status_code == 200
    assert b"already exists" in again.content


@pytest.mark.django_db
def test_the_same_number_may_belong_to_customers_of_two_organisations(
    org, other_org, staff, outsider, client_for
):
    data = {"name": "Amy", "phone": "+14155550132", "preferred_language": "en"}
    assert client_for(staff).post(reverse("organisations:customer_create"), data).status_code == 302
    assert (
        client_for(outsider).post(reverse("organisations:customer_create"), data).status_code == 302
    )
