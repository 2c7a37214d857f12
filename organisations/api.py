"""REST API building blocks shared by every app's endpoints (mounted under /api/v1/).

The tenant middleware has already resolved the organisation, from the session's membership or
from an API key for /api/ requests, and opened its transaction; these classes only authenticate
the key for DRF, check the role, throttle per key, and serve each app's rows through its scoped
manager.
"""

from django.contrib.auth.models import AnonymousUser
from rest_framework import permissions
from rest_framework.authentication import BaseAuthentication
from rest_framework.pagination import PageNumberPagination
from rest_framework.throttling import SimpleRateThrottle

from organisations.models import ApiKey
from organisations.roles import Role

API_PATH_PREFIX = "/api/"


def api_key_from_headers(request) -> str:
    """`Authorization: Api-Key <key>` or `Authorization: Bearer <key>`."""
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() in ("api-key", "bearer"):
        return value.strip()
    return ""


class ApiKeyAuthentication(BaseAuthentication):
    """Accepts the API key the middleware verified; the key, not a person, is the caller."""

    def authenticate(self, request):
        key = getattr(request._request, "api_key", None)
        if key is None:
            return None
        return AnonymousUser(), key

    def authenticate_header(self, request):
        return "Api-Key"


def caller_role(request) -> str | None:
    if isinstance(request.auth, ApiKey):
        return request.auth.role
    membership = getattr(request._request, "membership", None)
    return membership.role if membership is not None else None


class HasOrganisationRole(permissions.BasePermission):
    """Reads need viewer, writes need staff, unless the view says otherwise in `required_roles`
    (a dict of action name to role)."""

    def has_permission(self, request, view):
        role = caller_role(request)
        if role is None or getattr(request._request, "organisation", None) is None:
            return False
        default = Role.VIEWER if request.method in permissions.SAFE_METHODS else Role.STAFF
        required = getattr(view, "required_roles", {}).get(getattr(view, "action", None), default)
        return Role.rank(role) >= Role.rank(required)


class PerCallerThrottle(SimpleRateThrottle):
    """One budget per API key (or per signed-in user), so one integration cannot starve others."""

    scope = "api"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            ident = f"key:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
