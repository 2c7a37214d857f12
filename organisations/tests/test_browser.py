"""Real-browser journeys through the dashboard (Playwright + Debian's Chromium)."""

import re

import pytest
from django.core import mail

from organisations.models import Membership
from organisations.tenancy import tenant
from organisations.tests.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_owner_signs_in_and_sees_the_overview(page, sign_in, org, owner):
    sign_in(owner)
    assert page.locator("h1").inner_text().startswith("Hello")
    assert "Bright Smile Dental" in page.locator(".topbar").inner_text()
    page.screenshot_as("overview")


def test_admin_invites_a_member_who_joins(page, sign_in, org, admin_user):
    sign_in(admin_user)
    page.click("text=Team")
    page.fill("input[name=email]", "new.nurse@clinic.example")
    page.select_option("select[name=role]", "staff")
    page.click("text=Send invitation")
    page.wait_for_selector("text=Invitation sent to new.nurse@clinic.example")
    page.screenshot_as("team")
    token = re.search(r"/invitations/([\w-]+)/", mail.outbox[-1].body).group(1)

    page.click("text=Sign out")
    page.goto(f"/invitations/{token}/")
    page.fill("input[name=full_name]", "New Nurse")
    page.fill("input[name=password1]", "a-long-unusual-pass-9")
    page.fill("input[name=password2]", "a-long-unusual-pass-9")
    page.click("text=Create account and join")
    page.wait_for_selector("text=You joined Bright Smile Dental")
    with tenant(org):
        assert Membership.objects.filter(user__email="new.nurse@clinic.example").exists()


def test_an_outsider_is_denied_another_clinics_customer(page, sign_in, org, outsider):
    theirs = CustomerFactory(organisation=org, name="Private Patient")
    sign_in(outsider)
    response = page.goto(f"/customers/{theirs.pk}/")
    assert response.status == 404
    assert "Private Patient" not in page.content()
    page.screenshot_as("outsider-denied")


def test_the_dashboard_is_usable_on_a_phone(browser, live_server, org, owner, sign_in, page):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(owner)
    assert not page.locator(".sidebar").is_visible()
    page.click("[data-menu-toggle]")
    assert page.locator(".sidebar").is_visible()
    page.screenshot_as("phone-menu")


def test_the_api_docs_render_without_fetching_anything_from_another_host(page, live_server):
    answered = []
    page.on("response", lambda response: answered.append(response.url))
    page.goto("/api/docs/")
    page.wait_for_selector("text=/api/v1/customers/", timeout=15000)
    assert "Frontdesk API" in page.content()
    # Redoc's own "powered by" logo points at its CDN: our CSP blocks it, so nothing answers.
    outside = [url for url in answered if not url.startswith((live_server.url, "blob:", "data:"))]
    assert outside == []
    page.screenshot_as("api-docs")
