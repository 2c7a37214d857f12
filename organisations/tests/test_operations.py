"""Demo data, health, background tasks, the admin, and the request transaction."""

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from organisations.middleware import TenantMiddleware
from organisations.models import Customer, Notification
from organisations.tasks import tenant_task
from organisations.tenancy import TenantScopeError, current_organisation, tenant
from organisations.tests.factories import CustomerFactory, NotificationFactory, UserFactory

pytestmark = pytest.mark.django_db


def _counts():
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def test_seed_demo_twice_changes_nothing(capsys):
    call_command("seed_demo")
    first = _counts()
    out = capsys.readouterr().out
    assert "owner@brightsmile.example" in out
    assert "password:" in out
    call_command("seed_demo")
    assert _counts() == first
    assert first["organisations.Organisation"] == 2
    assert first["organisations.Membership"] == 8


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"


def test_healthz_is_503_when_redis_is_unreachable(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("error")


@tenant_task()
def count_customers(*, organisation_id):
    return {"organisation": str(current_organisation().pk), "customers": Customer.objects.count()}


def test_tenant_tasks_run_inside_their_organisation(org, other_org):
    CustomerFactory(organisation=org)
    CustomerFactory(organisation=other_org)
    CustomerFactory(organisation=other_org)
    result = count_customers.delay(organisation_id=str(other_org.pk)).get()
    assert result == {"organisation": str(other_org.pk), "customers": 2}
    assert current_organisation() is None


def test_tenant_tasks_refuse_to_run_without_an_organisation():
    with pytest.raises(TenantScopeError):
        count_customers.apply(kwargs={"organisation_id": None}).get()


def test_a_failing_view_keeps_none_of_its_writes(org, owner):
    """Django turns the exception into a 500 page inside our transaction: it must roll back."""

    def view(request):
        Notification.objects.create(title="half-done")
        raise RuntimeError("boom")

    request = RequestFactory().get("/")
    request.user = owner
    request.session = {}
    from django.core.handlers.exception import convert_exception_to_response

    middleware = TenantMiddleware(convert_exception_to_response(view))
    response = middleware(request)
    assert response.status_code == 500
    assert not Notification.all_organisations.filter(title="half-done").exists()


def test_template_responses_render_inside_the_tenant(org, owner):
    from django.template.response import TemplateResponse

    def view(request):
        # The page's rows are a lazy queryset, only evaluated while the template renders.
        page = Paginator(Notification.objects.all(), 10).page(1)
        return TemplateResponse(request, "organisations/notifications.html", {"page": page})

    NotificationFactory(organisation=org, title="Lazy queryset rendered in scope")
    request = RequestFactory().get("/")
    request.user = owner
    request.session = {}
    response = TenantMiddleware(view)(request)
    assert isinstance(response, HttpResponse)
    assert b"Lazy queryset rendered in scope" in response.content


def test_platform_admin_lists_every_model_and_masks_nothing_secret(client, org, other_org):
    staff_user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff_user, backend="django.contrib.auth.backends.ModelBackend")
    CustomerFactory(organisation=org, name="Admin Visible A")
    CustomerFactory(organisation=other_org, name="Admin Visible B")
    from django.contrib import admin

    for model in admin.site._registry:
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert client.get(url).status_code == 200, url
    page = client.get(reverse("admin:organisations_customer_changelist"))
    assert b"Admin Visible A" in page.content
    assert b"Admin Visible B" in page.content
    filtered = client.get(
        reverse("admin:organisations_customer_changelist"), {"organisation__id__exact": org.pk}
    )
    assert b"Admin Visible B" not in filtered.content


def test_members_who_are_not_platform_staff_cannot_use_the_admin(client_for, owner):
    response = client_for(owner).get(reverse("admin:index"))
    assert response.status_code == 302


def test_customer_list_query_count_does_not_grow(
    org, staff, client_for, django_assert_max_num_queries
):
    client = client_for(staff)
    for _n in range(3):
        CustomerFactory(organisation=org)
    with django_assert_max_num_queries(20) as small:
        client.get(reverse("organisations:customers"))
    for _n in range(40):
        CustomerFactory(organisation=org)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse("organisations:customers"))
    with tenant(org):
        assert Customer.objects.count() == 43
    assert connection.vendor in ("sqlite", "postgresql")


def test_pages_carry_a_content_security_policy_without_third_parties(client_for, owner):
    response = client_for(owner).get(reverse("organisations:home"))
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "http" not in policy.replace("https:", "")
    assert response["X-Frame-Options"] == "DENY"


def test_every_seeded_phone_number_is_valid():
    from organisations.phone import normalise_phone
    from organisations.seed import CLINICS

    for clinic in CLINICS:
        numbers = [loc[3] for loc in clinic["locations"]] + [c[1] for c in clinic["customers"]]
        for number in numbers:
            assert normalise_phone(number, clinic["country"]) == number


def test_on_commit_work_runs_inside_the_same_organisation(org, django_capture_on_commit_callbacks):
    from organisations.tenancy import on_commit_in_tenant, tenant_transaction

    seen = []
    with django_capture_on_commit_callbacks(execute=True), tenant_transaction(org):
        on_commit_in_tenant(lambda: seen.append(Customer.objects.count()))
    assert seen == [0]
