"""Billing pages (owners only) and the Stripe webhook."""

import logging

from django.contrib import messages
from django.http import HttpResponseBadRequest, HttpResponseForbidden, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing import stripe as stripe_api
from billing import webhooks
from billing.entitlements import access_state, usage_of
from billing.forms import CheckoutForm, MinutesCapForm
from billing.models import Invoice, Plan, Subscription
from billing.usage import period_usage
from organisations.emails import public_url
from organisations.models import AuditEvent
from organisations.pagination import paginate
from organisations.providers import ProviderError
from organisations.roles import Role, role_required

logger = logging.getLogger(__name__)

RESOURCES = [
    ("member", _lazy("Team members (with pending invitations)")),
    ("phone_number", _lazy("Phone numbers")),
    ("location", _lazy("Locations")),
]
CHECKOUT_MESSAGES = {
    "success": _lazy("Thank you. Your subscription shows here as soon as Stripe confirms it."),
    "canceled": _lazy("Checkout was cancelled; nothing was charged."),
}


@role_required(Role.OWNER)
def overview(request):
    organisation = request.organisation
    subscription = Subscription.current(organisation)
    if request.GET.get("checkout") in CHECKOUT_MESSAGES:
        messages.info(request, CHECKOUT_MESSAGES[request.GET["checkout"]])
    context = {
        "subscription": subscription,
        "state": access_state(organisation),
        "usage": period_usage(subscription),
        "resources": [
            (label, *usage_of(organisation, subscription.plan, resource))
            for resource, label in RESOURCES
        ],
        "invoices": paginate(request, Invoice.objects.all(), per_page=12),
        "stripe_configured": stripe_api.configured(),
        "plans": Plan.for_sale(),
        "has_live_stripe_subscription": _has_live_stripe_subscription(subscription),
        "cap_form": MinutesCapForm(instance=subscription),
    }
    return render(request, "billing/overview.html", context)


def _has_live_stripe_subscription(subscription: Subscription) -> bool:
    return not subscription.is_local and subscription.status not in Subscription.ENDED


@role_required(Role.OWNER)
@require_POST
def checkout(request):
    """Send the owner to Stripe Checkout for a plan (a new subscription; changes of plan go
    through the Customer Portal so an organisation never pays for two)."""
    form = CheckoutForm(request.POST)
    subscription = Subscription.current(request.organisation)
    if not form.is_valid():
        messages.error(request, _("Choose one of the plans on offer."))
        return redirect("billing:overview")
    if _has_live_stripe_subscription(subscription):
        messages.info(
            request, _("You already have a subscription: change plan with Manage billing.")
        )
        return redirect("billing:overview")
    plan = form.cleaned_data["plan"]
    base_url = public_url(reverse("billing:overview"))
    try:
        url = stripe_api.create_checkout_session(
            organisation_id=str(request.organisation.pk),
            price_id=plan.stripe_price_id,
            metered_price_id=plan.stripe_metered_price_id,
            customer_id=subscription.stripe_customer_id,
            customer_email=request.user.email,
            # Stripe's free trial is for organisations that never subscribed through Stripe.
            trial_days=plan.trial_days if subscription.is_local else 0,
            success_url=f"{base_url}?checkout=success",
            cancel_url=f"{base_url}?checkout=canceled",
        )
    except ProviderError as exc:
        logger.warning("Checkout for %s failed: %s", request.organisation.pk, exc)
        messages.error(
            request, _("Stripe did not open Checkout (%(error)s). Try again.") % {"error": exc}
        )
        return redirect("billing:overview")
    AuditEvent.record(request, "billing.checkout_started", plan, after={"plan": plan.code})
    return redirect(url)


@role_required(Role.OWNER)
@require_POST
def portal(request):
    """Stripe's Customer Portal: payment methods, invoices, plan changes, cancellation."""
    subscription = Subscription.current(request.organisation)
    if not subscription.stripe_customer_id:
        messages.error(request, _("Subscribe to a plan first."))
        return redirect("billing:overview")
    try:
        url = stripe_api.create_portal_session(
            customer_id=subscription.stripe_customer_id,
            return_url=public_url(reverse("billing:overview")),
        )
    except ProviderError as exc:
        logger.warning("Portal for %s failed: %s", request.organisation.pk, exc)
        messages.error(
            request, _("Stripe did not open the portal (%(error)s). Try again.") % {"error": exc}
        )
        return redirect("billing:overview")
    return redirect(url)


@role_required(Role.OWNER)
@require_POST
def minutes_cap(request):
    subscription = Subscription.materialise(request.organisation)
    before = subscription.minutes_hard_cap
    form = MinutesCapForm(request.POST, instance=subscription)
    if form.is_valid():
        form.save()
        AuditEvent.record(
            request,
            "billing.minutes_cap_changed",
            subscription,
            before={"minutes_hard_cap": before},
            after={"minutes_hard_cap": subscription.minutes_hard_cap},
        )
        messages.success(request, _("Minutes limit saved."))
    else:
        messages.error(request, _("The limit must be a whole number of minutes, or empty."))
    return redirect("billing:overview")


@csrf_exempt
@require_POST
def stripe_webhook(request):
    """`POST /webhooks/stripe/`: verify, store, process once. See billing/webhooks.py."""
    try:
        event = stripe_api.verify_event(request.body, request.headers.get("Stripe-Signature"))
    except stripe_api.InvalidSignature as exc:
        logger.warning("Refused a Stripe webhook: %s", exc)
        return HttpResponseForbidden()
    except stripe_api.MalformedEvent as exc:
        logger.warning("Unreadable Stripe webhook: %s", exc)
        return HttpResponseBadRequest()
    record = webhooks.store(event, request.body, request.headers)
    outcome = webhooks.process(record.pk)
    if outcome.processed:
        return JsonResponse({"received": True, "duplicate": outcome.duplicate})
    # Stored and failed: Stripe delivers it again later (and the admin can replay it).
    return JsonResponse(
        {"received": True, "error": outcome.error}, status=503 if outcome.transient else 500
    )
