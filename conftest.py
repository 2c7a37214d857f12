"""Shared fixtures: two organisations, each with a full team, and an outsider.

`org` is "ours": owner, admin, staff and viewer members. `other_org` belongs to the outsider.
Every dashboard test can log in as any of them with `client_for(user)`.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.db import connection

from organisations.roles import Role
from organisations.tests.factories import (
    LocationFactory,
    MembershipFactory,
    OrganisationFactory,
    UserFactory,
)

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or ""
SCREENSHOTS = Path(__file__).resolve().parent / "artifacts" / "screenshots"


def pytest_collection_modifyitems(config, items):
    skips = {}
    if connection.vendor != "postgresql":
        skips["postgres"] = pytest.mark.skip(
            reason="needs PostgreSQL (RLS, exclusion constraints, concurrency); set DATABASE_URL"
        )
    if not CHROMIUM:
        skips["browser"] = pytest.mark.skip(
            reason="needs Chromium (apt-get install chromium; .ci/run installs it)"
        )
    for item in items:
        for keyword, skip in skips.items():
            if keyword in item.keywords:
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


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (no browser download: executable_path)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # around it are ordinary blocking calls.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield instance
        instance.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server):
    """A fresh browser page; `page.screenshot_as(name)` saves a screenshot artifact."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 860})
    tab = context.new_page()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot_as = lambda name: tab.screenshot(
        path=SCREENSHOTS / f"{name}.png", full_page=True
    )
    yield tab
    context.close()


@pytest.fixture
def sign_in(page):
    """Sign in through the real login form."""
    from organisations.tests.factories import PASSWORD

    def login(user):
        page.goto("/accounts/login/")
        page.fill("input[name=username]", user.email)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/")
        return page

    return login
