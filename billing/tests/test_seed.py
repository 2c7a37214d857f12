import pytest

from billing.models import Invoice, Plan, Subscription, UsageRecord
from billing.seed import seed_organisation
from organisations.tenancy import tenant_transaction
from organisations.tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db


def _counts():
    return (
        Plan.objects.count(),
        Subscription.all_organisations.count(),
        Invoice.all_organisations.count(),
        UsageRecord.all_organisations.count(),
    )


def test_seed_is_idempotent():
    dental = OrganisationFactory(slug="bright-smile-dental")
    physio = OrganisationFactory(slug="pacific-physio")
    for _ in range(2):
        for organisation in (dental, physio):
            with tenant_transaction(organisation):
                seed_organisation(organisation)
    assert _counts() == (4, 2, 3, 48)
    statuses = dict(Subscription.all_organisations.values_list("organisation__slug", "status"))
    assert statuses == {"bright-smile-dental": "active", "pacific-physio": "trialing"}
