import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from organisations.models import AuditEvent, Invitation, Membership, User
from organisations.roles import Role
from organisations.tasks import expire_invitations
from organisations.tenancy import tenant, tenant_transaction
from organisations.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def invite(client, email, capture, role=Role.STAFF):
    """Send an invitation from the team page; returns the token from the email's link."""
    with capture(execute=True):
        response = client.post(reverse("organisations:invite"), {"email": email, "role": role})
    assert response.status_code == 302, response.content
    return last_emailed_token()


def last_emailed_token():
    return re.search(r"/invitations/([\w-]+)/", mail.outbox[-1].body).group(1)


def test_admin_invites_and_a_new_person_joins_with_a_new_account(
    org, admin_user, client_for, django_capture_on_commit_callbacks
):
    client = client_for(admin_user)
    token = invite(client, "Nurse@Clinic.example", django_capture_on_commit_callbacks)
    assert mail.outbox[-1].to == ["nurse@clinic.example"]
    assert "Bright Smile Dental" in mail.outbox[-1].subject
    client.logout()

    page = client.get(reverse("organisations:invitation", args=[token]))
    assert page.status_code == 200
    assert b"Create account and join" in page.content
    response = client.post(
        reverse("organisations:invitation", args=[token]),
        {
            "action": "signup",
            "full_name": "Nina Nurse",
            "password1": "a-long-unusual-pass-9",
            "password2": "a-long-unusual-pass-9",
        },
    )
    assert response.status_code == 302
    assert response.url == reverse("organisations:home")
    user = User.objects.get(email="nurse@clinic.example")
    with tenant(org):
        assert Membership.objects.get(user=user).role == Role.STAFF
        assert AuditEvent.objects.filter(action="invitation.sent").exists()
    home = client.get(reverse("organisations:home"))
    assert b"Bright Smile Dental" in home.content


def test_an_existing_account_accepts_and_lands_in_the_new_organisation(
    org, owner, outsider, client_for, django_capture_on_commit_callbacks
):
    token = invite(
        client_for(owner), outsider.email, django_capture_on_commit_callbacks, Role.ADMIN
    )
    client = client_for(outsider)
    response = client.post(reverse("organisations:invitation", args=[token]), {"action": "accept"})
    assert response.status_code == 302
    home = client.get(reverse("organisations:home"))
    assert b"Bright Smile Dental" in home.content
    # The outsider now belongs to two organisations and can switch back.
    assert b"Pacific Physio" in home.content
    with tenant(org):
        assert Membership.objects.get(user=outsider).role == Role.ADMIN


def _pending(org, email="new@clinic.example", **kwargs):
    with tenant_transaction(org):
        invitation = Invitation(email=email, role=Role.STAFF, **kwargs)
        token = invitation.issue_token()
        invitation.save()
    return invitation, token


def test_a_link_works_once(org, client_for):
    _invitation, token = _pending(org)
    user = UserFactory(email="new@clinic.example")
    client = client_for(user)
    url = reverse("organisations:invitation", args=[token])
    assert client.post(url, {"action": "accept"}).status_code == 302
    second = client.post(url, {"action": "accept"})
    assert second.status_code == 410
    assert b"already been used" in second.content
    with tenant(org):
        assert Membership.objects.filter(user=user).count() == 1


def test_an_expired_invitation_is_refused_and_the_beat_task_marks_it(org, client_for):
    invitation, token = _pending(org)
    Invitation.all_organisations.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    response = client_for(UserFactory(email="new@clinic.example")).get(
        reverse("organisations:invitation", args=[token])
    )
    assert response.status_code == 410
    assert b"expired" in response.content
    assert expire_invitations() == 1
    assert Invitation.all_organisations.get(pk=invitation.pk).status == Invitation.Status.EXPIRED


def test_a_revoked_invitation_is_refused(org, owner, client_for):
    invitation, token = _pending(org)
    client_for(owner).post(reverse("organisations:invitation_revoke", args=[invitation.pk]))
    assert Invitation.all_organisations.get(pk=invitation.pk).status == Invitation.Status.REVOKED
    client = client_for(UserFactory(email="new@clinic.example"))
    response = client.post(reverse("organisations:invitation", args=[token]), {"action": "accept"})
    assert response.status_code == 410
    assert b"withdrawn" in response.content


def test_signed_in_with_another_email_cannot_accept(org, outsider, client_for):
    _invitation, token = _pending(org)
    client = client_for(outsider)
    page = client.get(reverse("organisations:invitation", args=[token]))
    assert b"this invitation is for new@clinic.example" in page.content
    response = client.post(reverse("organisations:invitation", args=[token]), {"action": "accept"})
    assert response.status_code == 410
    with tenant(org):
        assert not Membership.objects.filter(user=outsider).exists()


def test_an_unknown_or_tampered_token_is_404(org, client):
    _pending(org)
    assert client.get(reverse("organisations:invitation", args=["not-a-token"])).status_code == 404


def test_only_a_hash_of_the_token_is_stored(org):
    invitation, token = _pending(org)
    stored = Invitation.all_organisations.get(pk=invitation.pk)
    assert token not in stored.token_hash
    assert Invitation.find_by_token(token) == stored


def test_declining_keeps_the_person_out(org, client):
    invitation, token = _pending(org)
    response = client.post(reverse("organisations:invitation", args=[token]), {"action": "decline"})
    assert response.status_code == 302
    assert Invitation.all_organisations.get(pk=invitation.pk).status == Invitation.Status.DECLINED


def test_resend_issues_a_fresh_link_and_the_old_one_stops_working(
    org, admin_user, client_for, django_capture_on_commit_callbacks
):
    invitation, old_token = _pending(org)
    with django_capture_on_commit_callbacks(execute=True):
        client_for(admin_user).post(
            reverse("organisations:invitation_resend", args=[invitation.pk])
        )
    new_token = last_emailed_token()
    assert new_token != old_token
    assert Invitation.find_by_token(old_token) is None
    assert Invitation.find_by_token(new_token).pk == invitation.pk


def test_inviting_a_member_or_a_pending_address_is_a_field_error(org, owner, staff, client_for):
    _pending(org, email="waiting@clinic.example")
    client = client_for(owner)
    for email in (staff.email, "waiting@clinic.example"):
        response = client.post(reverse("organisations:invite"), {"email": email, "role": "staff"})
        assert response.status_code == 400
        assert b"errorlist" in response.content


def test_only_owners_can_invite_owners(org, admin_user, client_for):
    response = client_for(admin_user).post(
        reverse("organisations:invite"), {"email": "boss@clinic.example", "role": "owner"}
    )
    assert response.status_code == 400
    assert not Invitation.all_organisations.filter(email="boss@clinic.example").exists()


def test_staff_cannot_invite(org, staff, client_for):
    response = client_for(staff).post(
        reverse("organisations:invite"), {"email": "x@clinic.example", "role": "staff"}
    )
    assert response.status_code == 403


def test_login_with_the_password_after_accepting(org, client):
    _invitation, token = _pending(org)
    client.post(
        reverse("organisations:invitation", args=[token]),
        {"action": "signup", "full_name": "N", "password1": PASSWORD, "password2": PASSWORD},
    )
    client.logout()
    response = client.post(
        reverse("login"), {"username": "new@clinic.example", "password": PASSWORD}
    )
    assert response.status_code == 302
