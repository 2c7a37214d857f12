import pytest
from django.urls import reverse

from organisations.models import ApiKey, AuditEvent, Customer
from organisations.roles import Role
from organisations.tenancy import tenant, tenant_transaction
from organisations.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def make_key(organisation, role=Role.STAFF, name="Practice sync"):
    with tenant_transaction(organisation):
        key = ApiKey(name=name, role=role)
        raw = key.issue()
        key.save()
    return key, raw


def auth(raw):
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_an_admin_creates_a_key_sees_it_once_and_it_works(org, admin_user, client_for, client):
    page = client_for(admin_user).post(
        reverse("organisations:api_keys"), {"name": "Sync", "role": "staff"}
    )
    assert page.status_code == 200
    raw = page.context["new_key"]
    assert raw.startswith("fd_")
    assert raw.encode() in page.content
    again = client_for(admin_user).get(reverse("organisations:api_keys"))
    assert raw.encode() not in again.content, "the full key is shown only once"
    with tenant(org):
        key = ApiKey.objects.get()
        assert raw not in key.key_hash
        assert AuditEvent.objects.filter(action="api_key.created").exists()
    client.logout()
    CustomerFactory(organisation=org, name="Ann Api")
    response = client.get("/api/v1/customers/", **auth(raw))
    assert response.status_code == 200
    assert [c["name"] for c in response.json()["results"]] == ["Ann Api"]


def test_a_key_never_sees_another_organisations_data(org, other_org, client):
    _, raw = make_key(org)
    theirs = CustomerFactory(organisation=other_org, name="Their Patient")
    listed = client.get("/api/v1/customers/", **auth(raw)).json()
    assert "Their Patient" not in str(listed)
    assert client.get(f"/api/v1/customers/{theirs.pk}/", **auth(raw)).status_code == 404
    patch = client.patch(
        f"/api/v1/customers/{theirs.pk}/",
        {"name": "Hacked"},
        content_type="application/json",
        **auth(raw),
    )
    assert patch.status_code == 404
    assert client.delete(f"/api/v1/customers/{theirs.pk}/", **auth(raw)).status_code == 404
    assert Customer.all_organisations.get(pk=theirs.pk).name == "Their Patient"


def test_a_revoked_key_stops_working_immediately(org, owner, client_for, client):
    key, raw = make_key(org)
    assert client.get("/api/v1/customers/", **auth(raw)).status_code == 200
    client_for(owner).post(reverse("organisations:api_key_revoke", args=[key.pk]))
    client.logout()
    response = client.get("/api/v1/customers/", **auth(raw))
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or revoked API key."}


@pytest.mark.parametrize("raw", ["fd_nope_nope", "garbage", "fd_00000000_x", ""])
def test_bad_keys_are_401(org, client, raw):
    make_key(org)
    response = client.get("/api/v1/customers/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code in (401, 403)


def test_a_viewer_key_reads_but_cannot_write(org, client):
    _, raw = make_key(org, Role.VIEWER)
    assert client.get("/api/v1/customers/", **auth(raw)).status_code == 200
    response = client.post(
        "/api/v1/customers/",
        {"phone": "+14155550100"},
        content_type="application/json",
        **auth(raw),
    )
    assert response.status_code == 403


def test_a_staff_key_creates_customers_with_clean_phone_numbers(org, client):
    _, raw = make_key(org, Role.STAFF)
    response = client.post(
        "/api/v1/customers/",
        {"name": "Pat", "phone": "020 7946 0958"},
        content_type="application/json",
        **auth(raw),
    )
    assert response.status_code == 201, response.content
    assert response.json()["phone"] == "+442079460958"
    duplicate = client.post(
        "/api/v1/customers/",
        {"name": "Pat again", "phone": "+44 20 7946 0958"},
        content_type="application/json",
        **auth(raw),
    )
    assert duplicate.status_code == 400
    assert "phone" in duplicate.json()
    bad = client.post(
        "/api/v1/customers/", {"phone": "12"}, content_type="application/json", **auth(raw)
    )
    assert bad.status_code == 400


def test_a_reference_to_another_organisations_location_is_refused(org, other_org, client):
    _, raw = make_key(org)
    foreign = other_org.default_location
    response = client.post(
        "/api/v1/customers/",
        {"phone": "+14155550100", "location": str(foreign.pk)},
        content_type="application/json",
        **auth(raw),
    )
    assert response.status_code == 400
    assert "location" in response.json()


def test_keys_cannot_outrank_their_creator(org, admin_user, client_for):
    response = client_for(admin_user).post(
        reverse("organisations:api_keys"), {"name": "Root", "role": "owner"}
    )
    assert response.status_code == 400
    with tenant(org):
        assert not ApiKey.objects.exists()


def test_session_users_use_the_api_with_their_role(org, viewer, client_for):
    client = client_for(viewer)
    assert client.get("/api/v1/customers/").status_code == 200
    response = client.post(
        "/api/v1/customers/", {"phone": "+14155550100"}, content_type="application/json"
    )
    assert response.status_code == 403


def test_anonymous_requests_are_refused(client, org):
    assert client.get("/api/v1/customers/").status_code in (401, 403)


def test_each_key_has_its_own_rate_limit(org, client, monkeypatch):
    from django.core.cache import cache

    from organisations.api import PerCallerThrottle

    cache.clear()
    monkeypatch.setattr(PerCallerThrottle, "THROTTLE_RATES", {"api": "3/minute"})
    _, first = make_key(org, name="A")
    _, second = make_key(org, name="B")
    codes = [client.get("/api/v1/customers/", **auth(first)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert client.get("/api/v1/customers/", **auth(second)).status_code == 200
    cache.clear()


def test_the_schema_generates_and_the_docs_page_serves_without_a_cdn(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/customers/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn." not in docs.content
    assert b"/static/drf_spectacular_sidecar/" in docs.content


def test_customer_list_queries_do_not_grow(org, client, django_assert_max_num_queries):
    _, raw = make_key(org)
    CustomerFactory.create_batch(2, organisation=org)
    with django_assert_max_num_queries(30) as baseline:
        client.get("/api/v1/customers/", **auth(raw))
    CustomerFactory.create_batch(40, organisation=org)
    with django_assert_max_num_queries(len(baseline.captured_queries)):
        client.get("/api/v1/customers/", **auth(raw))
