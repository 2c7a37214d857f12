from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins

from organisations.api_base import TenantViewSet
from organisations.models import Customer, Location
from organisations.serializers import CustomerSerializer, LocationSerializer


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="Name, email or phone digits contain this"),
            OpenApiParameter("phone", str, description="Exact E.164 number"),
        ]
    )
)
class CustomerViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    TenantViewSet,
):
    """The organisation's customers (callers and patients)."""

    model = Customer
    serializer_class = CustomerSerializer

    def get_queryset(self):
        queryset = super().get_queryset().order_by("name", "phone")
        params = self.request.query_params
        if phone := params.get("phone"):
            queryset = queryset.filter(phone=phone)
        if query := params.get("q", "").strip():
            condition = Q(name__icontains=query) | Q(email__icontains=query)
            if digits := "".join(ch for ch in query if ch.isdigit()):
                condition |= Q(phone__contains=digits)
            queryset = queryset.filter(condition)
        return queryset


class LocationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """The organisation's locations (sites), read only."""

    model = Location
    serializer_class = LocationSerializer
