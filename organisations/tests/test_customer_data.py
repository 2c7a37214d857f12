import csv
import io
import json

import pytest
from django.urls import reverse

from organisations import customer_data
from organisations.models import AuditEvent, Customer
from organisations.tenancy import tenant
from organisations.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_customers_export_as_csv_without_spreadsheet_formulas(org, staff, client_for):
    CustomerFactory(organisation=org, name="Ann", phone="+14155550101")
    CustomerFactory(organisation=org, name='=HYPERLINK("http://x")', phone="+14155550102")
    response = client_for(staff).get(reverse("organisations:customers_csv"))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:2] == ["name", "phone"]
    names = {row[0] for row in rows[1:]}
    assert "Ann" in names
    assert '\'=HYPERLINK("http://x")' in names
    assert "+14155550101" in {row[1] for row in rows[1:]}


def test_viewers_cannot_export(org, viewer, client_for):
    assert client_for(viewer).get(reverse("organisations:customers_csv")).status_code == 403


def test_a_customers_data_export_includes_every_registered_section(org, admin_user, client_for):
    customer = CustomerFactory(organisation=org, name="Ann", phone="+14155550101")
    customer_data.register("test-notes", export=lambda c: [f"note about {c.name}"])
    try:
        response = client_for(admin_user).get(
            reverse("organisations:customer_export", args=[customer.pk])
        )
    finally:
        customer_data._sections.pop("test-notes")
    data = json.loads(response.content)
    assert data["customer"]["phone"] == "+14155550101"
    assert data["test-notes"] == ["note about Ann"]
    assert "attachment" in response["Content-Disposition"]
    with tenant(org):
        assert AuditEvent.objects.filter(action="customer.exported").exists()


def test_erasure_needs_the_number_typed_and_leaves_no_personal_data(org, admin_user, client_for):
    customer = CustomerFactory(organisation=org, name="Ann Private", phone="+14155550101")
    erased = []
    customer_data.register("test-notes", erase=lambda c: erased.append(c.pk))
    try:
        client = client_for(admin_user)
        url = reverse("organisations:customer_erase", args=[customer.pk])
        client.post(url, {"confirm": "wrong"})
        assert Customer.all_organisations.filter(pk=customer.pk).exists()
        client.post(url, {"confirm": "+14155550101"})
    finally:
        customer_data._sections.pop("test-notes")
    assert erased == [customer.pk]
    assert not Customer.all_organisations.filter(pk=customer.pk).exists()
    with tenant(org):
        event = AuditEvent.objects.get(action="customer.erased")
    assert "Ann" not in json.dumps([event.target_repr, event.before, event.after])
    # Other apps' sections come first; ours and finally the customer row itself.
    assert event.after["sections"][-2:] == ["test-notes", "customer"]


def test_staff_cannot_erase(org, staff, client_for):
    customer = CustomerFactory(organisation=org)
    response = client_for(staff).post(
        reverse("organisations:customer_erase", args=[customer.pk]), {"confirm": customer.phone}
    )
    assert response.status_code == 403
    assert Customer.all_organisations.filter(pk=customer.pk).exists()
