from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from organisations.api_base import TenantPrimaryKeyRelatedField
from organisations.models import Customer, Location
from organisations.phone import normalise_phone, region_of_current_organisation


class LocationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Location
        fields = ["id", "name", "address", "phone", "timezone", "is_default"]
        read_only_fields = fields


class CustomerSerializer(serializers.ModelSerializer):
    location = TenantPrimaryKeyRelatedField(Location, allow_null=True, required=False)

    class Meta:
        model = Customer
        fields = [
            "id",
            "name",
            "phone",
            "email",
            "location",
            "preferred_language",
            "notes",
            "sms_opt_out",
            "first_contact_at",
            "last_contact_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "first_contact_at", "last_contact_at", "created_at", "updated_at"]

    def validate_phone(self, value):
        try:
            phone = normalise_phone(value, region_of_current_organisation())
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        duplicates = Customer.objects.filter(phone=phone)
        if self.instance is not None:
            duplicates = duplicates.exclude(pk=self.instance.pk)
        if duplicates.exists():
            raise serializers.ValidationError(_("A customer with this phone number exists."))
        return phone
