"""Base classes for each app's API views and serializers (see organisations/api.py)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import serializers, viewsets

from organisations.api import ApiKeyAuthentication


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An organisation API key (`Authorization: Bearer fd_...`), created by "
            "an admin under Settings → API keys.",
        }


class TenantViewSet(viewsets.GenericViewSet):
    """Base for API views over a tenant model: rows come from `model.objects` (the current
    organisation only), so another organisation's id is a 404."""

    model = None
    lookup_value_regex = "[0-9a-f-]{36}"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no tenant
            return self.model.all_organisations.none()
        return self.model.objects.all()


class TenantPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A reference to another row of the current organisation (others are "does not exist")."""

    def __init__(self, model, **kwargs):
        self.tenant_model = model
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.tenant_model.objects.all()
