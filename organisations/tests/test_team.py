import pytest
from django.urls import reverse

from organisations.models import AuditEvent, Membership
from organisations.roles import Role
from organisations.tenancy import tenant

pytestmark = pytest.mark.django_db


def membership_of(org, user):
    with tenant(org):
        return Membership.objects.get(user=user)


def test_the_last_owner_cannot_be_demoted(org, owner, client_for):
    me = membership_of(org, owner)
    response = client_for(owner).post(
        reverse("organisations:member_role", args=[me.pk]), {"role": "admin"}, follow=True
    )
    assert b"only owner" in response.content
    assert membership_of(org, owner).role == Role.OWNER


def test_the_last_owner_cannot_leave(org, owner, client_for):
    me = membership_of(org, owner)
    response = client_for(owner).post(
        reverse("organisations:member_remove", args=[me.pk]), follow=True
    )
    assert b"Transfer ownership first" in response.content
    assert membership_of(org, owner).role == Role.OWNER


def test_an_admin_cannot_remove_or_demote_an_owner(org, owner, admin_user, client_for):
    target = membership_of(org, owner)
    client = client_for(admin_user)
    assert client.post(reverse("organisations:member_remove", args=[target.pk])).status_code == 403
    response = client.post(
        reverse("organisations:member_role", args=[target.pk]), {"role": "viewer"}
    )
    assert response.status_code == 403
    assert membership_of(org, owner).role == Role.OWNER


def test_an_admin_manages_staff_and_it_is_audited(org, admin_user, staff, client_for):
    target = membership_of(org, staff)
    client = client_for(admin_user)
    client.post(reverse("organisations:member_role", args=[target.pk]), {"role": "viewer"})
    assert membership_of(org, staff).role == Role.VIEWER
    client.post(reverse("organisations:member_remove", args=[target.pk]))
    with tenant(org):
        assert not Membership.objects.filter(user=staff).exists()
        actions = list(AuditEvent.objects.values_list("action", "before", "after"))
    assert ("membership.role_changed", {"role": "staff"}, {"role": "viewer"}) in actions
    assert any(action == "membership.removed" for action, _, _ in actions)


def test_an_admin_cannot_make_owners(org, admin_user, staff, client_for):
    target = membership_of(org, staff)
    response = client_for(admin_user).post(
        reverse("organisations:member_role", args=[target.pk]), {"role": "owner"}
    )
    assert response.status_code == 403
    assert membership_of(org, staff).role == Role.STAFF


def test_ownership_transfer_keeps_exactly_the_new_owner(org, owner, admin_user, client_for):
    target = membership_of(org, admin_user)
    client_for(owner).post(reverse("organisations:transfer_ownership", args=[target.pk]))
    assert membership_of(org, admin_user).role == Role.OWNER
    assert membership_of(org, owner).role == Role.ADMIN
    with tenant(org):
        assert AuditEvent.objects.filter(action="membership.ownership_transferred").exists()


def test_two_owners_then_one_may_step_down(org, owner, admin_user, client_for):
    second = membership_of(org, admin_user)
    client = client_for(owner)
    client.post(reverse("organisations:member_role", args=[second.pk]), {"role": "owner"})
    me = membership_of(org, owner)
    client.post(reverse("organisations:member_role", args=[me.pk]), {"role": "staff"})
    assert membership_of(org, owner).role == Role.STAFF


def test_a_member_can_leave(org, owner, staff, client_for):
    me = membership_of(org, staff)
    client = client_for(staff)
    response = client.post(reverse("organisations:member_remove", args=[me.pk]))
    assert response.status_code == 302
    with tenant(org):
        assert not Membership.objects.filter(user=staff).exists()
    # With no organisation left, the dashboard asks to create one.
    assert client.get(reverse("organisations:home")).url == reverse("organisations:create")


# What each role may do, as one table: (url name, method, needs object, minimum role).
ROLE_MATRIX = [
    ("organisations:home", "get", None, Role.VIEWER),
    ("organisations:customers", "get", None, Role.VIEWER),
    ("organisations:customer_create", "get", None, Role.STAFF),
    ("organisations:team", "get", None, Role.VIEWER),
    ("organisations:invite", "post", None, Role.ADMIN),
    ("organisations:settings", "get", None, Role.ADMIN),
    ("organisations:locations", "get", None, Role.VIEWER),
    ("organisations:location_create", "get", None, Role.ADMIN),
    ("organisations:audit_log", "get", None, Role.ADMIN),
    ("organisations:notifications", "get", None, Role.VIEWER),
]


@pytest.mark.parametrize(("name", "method", "_", "minimum"), ROLE_MATRIX)
def test_role_matrix(name, method, _, minimum, org, owner, admin_user, staff, viewer, client_for):
    for user, role in [
        (owner, Role.OWNER),
        (admin_user, Role.ADMIN),
        (staff, Role.STAFF),
        (viewer, Role.VIEWER),
    ]:
        response = getattr(client_for(user), method)(reverse(name))
        allowed = Role.rank(role) >= Role.rank(minimum)
        if allowed:
            assert response.status_code in (200, 302, 400), (name, role, response.status_code)
        else:
            assert response.status_code == 403, (name, role, response.status_code)


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for name in ("organisations:home", "organisations:team", "organisations:customers"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
