import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "name",
    [
        "organisations:home",
        "organisations:team",
        "organisations:settings",
        "organisations:locations",
        "organisations:customers",
        "organisations:customer_create",
        "organisations:audit_log",
        "organisations:notifications",
        "organisations:location_create",
    ],
)
def test_owner_sees_every_dashboard_page(client_for, owner, name):
    response = client_for(owner).get(reverse(name))
    assert response.status_code == 200
    assert b"Bright Smile Dental" in response.content
