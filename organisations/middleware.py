from django.db import transaction
from django.http import JsonResponse
from django.urls import reverse
from django.utils import translation

from organisations.api import API_PATH_PREFIX, api_key_from_headers
from organisations.models import ApiKey, Membership, Organisation
from organisations.tenancy import platform_transaction, tenant_transaction

ACTIVE_ORGANISATION_SESSION_KEY = "active_organisation_id"


def load_memberships(request) -> None:
    """Set `request.memberships` (all of the user's, for the switcher) and `request.membership`
    (the active one: the session's choice if still valid, else the oldest)."""
    with platform_transaction():
        memberships = list(
            Membership.all_organisations.select_related("organisation")
            .filter(user=request.user)
            .exclude(organisation__status=Organisation.Status.CLOSED)
            .order_by("created_at")
        )
    wanted = request.session.get(ACTIVE_ORGANISATION_SESSION_KEY)
    active = next((m for m in memberships if str(m.organisation_id) == wanted), None)
    request.memberships = memberships
    request.membership = active or (memberships[0] if memberships else None)
    request.organisation = request.membership.organisation if request.membership else None


class TenantMiddleware:
    """Runs each signed-in request inside its organisation's transaction.

    The transaction is opened here, not by ATOMIC_REQUESTS, because Django runs middleware and
    renders TemplateResponses outside the view's transaction: the row-level-security setting is
    transaction-local, so everything that reads tenant data (view, lazy querysets in templates)
    must run inside this block.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.admin_prefix = None

    def __call__(self, request):
        request.organisation = None
        request.membership = None
        request.memberships = []
        request.api_key = None
        if request.path_info.startswith(API_PATH_PREFIX):
            raw_key = api_key_from_headers(request)
            if raw_key:
                return self.respond_to_api_key(request, raw_key)
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        if self.is_admin(request):
            if not user.is_staff:
                return self.get_response(request)
            with platform_transaction():
                return self.respond(request)
        if user.language:
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        load_memberships(request)
        if request.organisation is None:
            return self.get_response(request)
        with tenant_transaction(request.organisation):
            return self.respond(request)

    def respond_to_api_key(self, request, raw_key: str):
        with platform_transaction():
            key = ApiKey.find(raw_key)
        if key is None:
            return JsonResponse(
                {"detail": "Invalid or revoked API key."},
                status=401,
                headers={"WWW-Authenticate": "Api-Key"},
            )
        request.api_key = key
        request.organisation = key.organisation
        with tenant_transaction(key.organisation):
            key.touch()
            return self.respond(request)

    def respond(self, request):
        response = self.get_response(request)
        # The view raised and Django turned it into an error page: keep none of its writes.
        if response.status_code >= 500:
            transaction.set_rollback(True)
        if hasattr(response, "render") and not response.is_rendered:
            response = response.render()
        return response

    def is_admin(self, request) -> bool:
        if self.admin_prefix is None:
            self.admin_prefix = reverse("admin:index")
        return request.path_info.startswith(self.admin_prefix)
