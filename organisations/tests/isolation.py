from organisations.isolation import ObjectCase
from organisations.roles import Role
from organisations.tests.factories import (
    ApiKeyFactory,
    AuditEventFactory,
    CustomerFactory,
    InvitationFactory,
    LocationFactory,
    MembershipFactory,
    NotificationFactory,
)


def _customer(org):
    return CustomerFactory(organisation=org, name="Zebedee Leaked-Customer")


def _audit(org):
    return AuditEventFactory(organisation=org, target_repr="Leaked-Audit-Target").target_repr


def _notification(org):
    return NotificationFactory(organisation=org, title="Leaked-Notification").title


def _location(org):
    return LocationFactory(organisation=org, name="Leaked-Location").name


def _member(org):
    return MembershipFactory(organisation=org, role=Role.OWNER).user.email


OBJECT_URLS = {
    "organisations:invitation_resend": ObjectCase(
        lambda org: InvitationFactory(organisation=org), "invitation_id"
    ),
    "organisations:invitation_revoke": ObjectCase(
        lambda org: InvitationFactory(organisation=org), "invitation_id"
    ),
    "organisations:member_role": ObjectCase(
        lambda org: MembershipFactory(organisation=org), "membership_id"
    ),
    "organisations:member_remove": ObjectCase(
        lambda org: MembershipFactory(organisation=org), "membership_id"
    ),
    "organisations:transfer_ownership": ObjectCase(
        lambda org: MembershipFactory(organisation=org), "membership_id"
    ),
    "organisations:location_edit": ObjectCase(
        lambda org: LocationFactory(organisation=org), "location_id"
    ),
    "organisations:location_make_default": ObjectCase(
        lambda org: LocationFactory(organisation=org), "location_id"
    ),
    "organisations:location_delete": ObjectCase(
        lambda org: LocationFactory(organisation=org), "location_id"
    ),
    "organisations:customer": ObjectCase(_customer, "customer_id"),
    "organisations:customer_edit": ObjectCase(_customer, "customer_id"),
    "organisations:customer_export": ObjectCase(_customer, "customer_id"),
    "organisations:customer_erase": ObjectCase(_customer, "customer_id"),
    "organisations:notification_read": ObjectCase(
        lambda org: NotificationFactory(organisation=org), "notification_id"
    ),
    "organisations:switch": ObjectCase(lambda org: org, "organisation_id"),
    "organisations:api_key_revoke": ObjectCase(
        lambda org: ApiKeyFactory(organisation=org), "key_id"
    ),
    "api:customer-detail": ObjectCase(_customer, "pk"),
    "api:location-detail": ObjectCase(lambda org: LocationFactory(organisation=org), "pk"),
}

LIST_URLS = {
    "organisations:home": lambda org: _customer(org).name,
    "organisations:customers": lambda org: _customer(org).name,
    "organisations:customers_csv": lambda org: _customer(org).name,
    "organisations:team": _member,
    "organisations:locations": _location,
    "organisations:audit_log": _audit,
    "organisations:notifications": _notification,
    "organisations:settings": lambda org: org.name,
    "organisations:customer_create": _location,
    "organisations:location_create": _location,
    "organisations:invite": _member,
    "organisations:notifications_read_all": _notification,
    "organisations:create": lambda org: org.name,
    "organisations:api_keys": lambda org: ApiKeyFactory(organisation=org, name="Leaked-Key").name,
    "api:customer-list": lambda org: _customer(org).name,
    "api:location-list": _location,
}

EXEMPT_URLS = {
    "organisations:invitation": "reached by token only; tested in test_invitations",
    "healthz": "no tenant data",
    "api-schema": "describes the API, no data",
    "api-docs": "describes the API, no data",
    "signup": "anonymous",
    "login": "anonymous",
    "logout": "no tenant data",
    "password_reset": "anonymous",
    "password_reset_done": "anonymous",
    "password_reset_confirm": "anonymous",
    "password_reset_complete": "anonymous",
    "password_change": "the user's own account",
    "organisations:profile": "the user's own account",
    "password_change_done": "the user's own account",
}
