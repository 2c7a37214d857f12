from billing.entitlements import banner


def billing_banner(request):
    """The subscription notice (trial, payment problem, suspension) for dashboard pages."""
    organisation = getattr(request, "organisation", None)
    if organisation is None:
        return {}
    return {"billing_banner": banner(organisation)}
