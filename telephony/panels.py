"""Telephony's section of a customer's page (organisations.panels): their latest calls and texts,
a fixed number of each whatever their history."""

from django.template.loader import render_to_string

from telephony.privacy import calls_of, texts_of

SHOWN = 10


def customer(request, customer) -> str:
    calls = list(calls_of(customer).select_related("location").order_by("-created_at")[: SHOWN + 1])
    return render_to_string(
        "telephony/customer_panel.html",
        {
            "calls": calls[:SHOWN],
            "more_calls": len(calls) > SHOWN,
            "texts": texts_of(customer).order_by("-created_at")[:SHOWN],
            "customer": customer,
        },
        request=request,
    )
