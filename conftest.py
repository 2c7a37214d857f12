"""Shared fixtures: two organisations, each with a full team, and an outsider.

`org` is "ours": owner, admin, staff and viewer members. `other_org` belongs to the outsider.
Every dashboard test can log in as any of them with `client_for(user)`.
"""

import pytest
from django.db import connection

from organisations.roles import Role
from organisations.tests.factories import (
    LocationFactory,
    MembershipFactory,
    OrganisationFactory,
    UserFactory,
)


def pytest_collection_modifyitems(config, items):
    if connection.vendor == "postgresql" or connection.settings_dict["ENGINE"].endswith(
        "postgresql"
    ):
        return
    skip = pytest.mark.skip(
        reason="needs PostgreSQL (RLS, exclusion constraints, concurrency); set DATABASE_URL"
    )
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def org(db):
    organisation = OrganisationFactory(name="Bright Smile Dental", country="GB")
    LocationFactory(
        organisation=organisation, name="Camden", timezone="Europe/London", is_default=True
    )
    return organisation


@pytest.fixture
def other_org(db):
    organisation = OrganisationFactory(name="Pacific Physio", country="US")
    LocationFactory(
        organisation=organisation,
        name="Santa Monica",
        timezone="America/Los_Angeles",
        is_default=True,
    )
    return organisation


def _member(organisation, role, email):
    return MembershipFactory(
        organisation=organisation, role=role, user=UserFactory(email=email)
    ).user


@pytest.fixture
def owner(org):
    return _member(org, Role.OWNER, "owner@a.example")


@pytest.fixture
def admin_user(org):
    return _member(org, Role.ADMIN, "admin@a.example")


@pytest.fixture
def staff(org):
    return _member(org, Role.STAFF, "staff@a.example")


@pytest.fixture
def viewer(org):
    return _member(org, Role.VIEWER, "viewer@a.example")


@pytest.fixture
def outsider(other_org):
    return _member(other_org, Role.OWNER, "outsider@b.example")


@pytest.fixture
def client_for(client):
    """Log a user in (without the lockout backend's request requirements)."""

    def login(user):
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return login
