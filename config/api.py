"""The REST API under /api/v1/: every app registers its viewsets here."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView
from rest_framework.permissions import AllowAny
from rest_framework.routers import DefaultRouter

from organisations.api_views import CustomerViewSet, LocationViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("customers", CustomerViewSet, basename="customer")
router.register("locations", LocationViewSet, basename="location")

urlpatterns = [
    path("api/v1/", include((router.urls, "api"))),
    # The schema describes the API, not anyone's data: public, like the docs page.
    path(
        "api/schema/",
        SpectacularAPIView.as_view(permission_classes=[AllowAny], authentication_classes=[]),
        name="api-schema",
    ),
    path(
        "api/docs/",
        SpectacularRedocView.as_view(
            url_name="api-schema", permission_classes=[AllowAny], authentication_classes=[]
        ),
        name="api-docs",
    ),
]
