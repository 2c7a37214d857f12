"""Read-only dashboards for organisations whose service is restricted (trial over, suspended)."""

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _

from billing.entitlements import is_read_only
from organisations.api import API_PATH_PREFIX
from organisations.roles import Role

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
# Writes that stay open: paying (the billing namespace), leaving, and the user's own account.
ALLOWED_VIEWS = {
    "logout",
    "password_change",
    "organisations:switch",
    "organisations:create",
    "organisations:invitation",
    "organisations:notification_read",
    "organisations:notifications_read_all",
    # An emergency must always be acknowledgeable, paid up or not.
    "telephony:emergency_acknowledge",
}
REFUSED = _(
    "The dashboard is read-only until the subscription is paid, so this change was not saved."
)


class ReadOnlyMiddleware:
    """Refuses dashboard writes (POST, PUT, PATCH, DELETE) of a read-only organisation.

    Listed after organisations.middleware.TenantMiddleware and working in `process_view`: Django
    calls process_view from inside the innermost handler, after every middleware's `__call__` has
    run its pre-processing, so `request.organisation` is set and the tenant transaction is open.
    Owners are sent to the billing page, everyone else back to the overview.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        organisation = getattr(request, "organisation", None)
        if request.method in SAFE_METHODS or organisation is None:
            return None
        match = request.resolver_match
        if match.namespace == "billing" or match.view_name in ALLOWED_VIEWS:
            return None
        if not is_read_only(organisation):
            return None
        if request.path_info.startswith(API_PATH_PREFIX):
            return JsonResponse({"detail": str(REFUSED)}, status=403)
        messages.warning(request, REFUSED)
        owner = request.membership is not None and request.membership.role == Role.OWNER
        return redirect("billing:overview" if owner else "organisations:home")
