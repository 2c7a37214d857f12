import pytest
from django.core import mail
from django.urls import reverse

from organisations.middleware import ACTIVE_ORGANISATION_SESSION_KEY
from organisations.models import Location, Membership, Organisation, User
from organisations.roles import Role
from organisations.tenancy import tenant
from organisations.tests.factories import PASSWORD, MembershipFactory

pytestmark = pytest.mark.django_db

SIGNUP = {
    "full_name": "Dana Dentist",
    "email": "dana@smile.example",
    "password1": "pearly-whites-2026",
    "password2": "pearly-whites-2026",
    "organisation_name": "Smile Studio",
    "industry": "dental",
    "country": "gb",
    "timezone": "Europe/London",
}


def test_signup_creates_the_organisation_its_location_and_the_owner(client):
    response = client.post(reverse("signup"), SIGNUP)
    assert response.status_code == 302
    organisation = Organisation.objects.get(name="Smile Studio")
    assert organisation.country == "GB"
    user = User.objects.get(email="dana@smile.example")
    with tenant(organisation):
        location = Location.objects.get()
        assert location.is_default
        assert location.timezone == "Europe/London"
        assert Membership.objects.get(user=user).role == Role.OWNER
    home = client.get(reverse("organisations:home"))
    assert b"Smile Studio" in home.content


def test_signup_errors_are_shown_next_to_fields_and_nothing_is_created(client):
    response = client.post(reverse("signup"), {**SIGNUP, "password2": "different", "country": "XX"})
    assert response.status_code == 200
    assert b"The two passwords differ" in response.content
    assert b"two-letter country code" in response.content
    assert not Organisation.objects.exists()
    assert not User.objects.exists()


def test_signup_with_a_taken_email_points_to_sign_in(client, owner):
    response = client.post(reverse("signup"), {**SIGNUP, "email": owner.email.upper()})
    assert b"Sign in instead" in response.content


def test_email_login_is_case_insensitive(client, owner):
    response = client.post(reverse("login"), {"username": "OWNER@a.example", "password": PASSWORD})
    assert response.status_code == 302


def test_repeated_failed_logins_lock_the_account_out(client, owner, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": owner.email, "password": "wrong"})
    response = client.post(reverse("login"), {"username": owner.email, "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
    assert "_auth_user_id" not in client.session


def test_password_reset_sends_a_working_link(client, owner):
    client.post(reverse("password_reset"), {"email": owner.email})
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/password-reset/" in line)
    path = link.split("testserver", 1)[1].strip()
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "brand-new-secret-77", "new_password2": "brand-new-secret-77"},
    )
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password("brand-new-secret-77")


def test_a_user_in_two_organisations_switches_between_them(org, other_org, owner, client_for):
    MembershipFactory(organisation=other_org, user=owner, role=Role.VIEWER)
    client = client_for(owner)
    first = client.get(reverse("organisations:home"))
    assert b"Bright Smile Dental" in first.content
    response = client.post(reverse("organisations:switch", args=[other_org.pk]), {"next": "/team/"})
    assert response.url == "/team/"
    assert client.session[ACTIVE_ORGANISATION_SESSION_KEY] == str(other_org.pk)
    page = client.get(reverse("organisations:home"))
    assert b"Pacific Physio" in page.content
    assert b"Viewer" in page.content


def test_switch_refuses_an_open_redirect(org, other_org, owner, client_for):
    MembershipFactory(organisation=other_org, user=owner)
    response = client_for(owner).post(
        reverse("organisations:switch", args=[other_org.pk]), {"next": "https://evil.example/"}
    )
    assert response.url == reverse("organisations:home")


def test_a_revoked_membership_stops_working_at_the_next_request(org, owner, staff, client_for):
    client = client_for(staff)
    assert client.get(reverse("organisations:customers")).status_code == 200
    with tenant(org):
        Membership.objects.get(user=staff).delete()
    assert client.get(reverse("organisations:customers")).status_code == 302


def test_a_new_organisation_for_a_signed_in_user(client_for, db):
    from organisations.tests.factories import UserFactory

    user = UserFactory()
    client = client_for(user)
    assert client.get(reverse("organisations:home")).url == reverse("organisations:create")
    client.post(
        reverse("organisations:create"),
        {
            "organisation_name": "Vet Co",
            "industry": "veterinary",
            "country": "US",
            "timezone": "America/Chicago",
        },
    )
    assert b"Vet Co" in client.get(reverse("organisations:home")).content
