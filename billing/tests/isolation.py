from billing.tests.factories import InvoiceFactory, SubscriptionFactory, UsageRecordFactory


def _billing_data(org):
    """Another organisation's invoice, subscription and usage; its invoice number must never
    show on our billing pages."""
    SubscriptionFactory(organisation=org, stripe_customer_id="cus_LeakedCustomer")
    UsageRecordFactory(organisation=org, call_id="leaked-call")
    return InvoiceFactory(organisation=org, number="LEAKED-INVOICE-42").number


# Billing has no page about one object: plans are chosen in the form body, invoices link to Stripe.
OBJECT_URLS = {}

LIST_URLS = {
    "billing:overview": _billing_data,
    "billing:checkout": _billing_data,
    "billing:portal": _billing_data,
    "billing:minutes_cap": _billing_data,
}

EXEMPT_URLS = {
    "billing:stripe_webhook": "signed by Stripe; organisation from Stripe ids (test_webhook)",
}
