"""Admin building blocks shared by every app: platform staff see all organisations, filter and
search by organisation, and never see a secret in full."""

from django import forms
from django.contrib import admin

from organisations.encryption import EncryptedTextField, encrypted_fields, mask


class SecretWidget(forms.PasswordInput):
    """Shows that a secret is set (masked) and takes a new value; blank keeps the current one."""

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, render_value=False)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"]["placeholder"] = mask(value) or "not set"
        return context


class TenantAdmin(admin.ModelAdmin):
    list_select_related = ["organisation"]
    formfield_overrides = {EncryptedTextField: {"widget": SecretWidget, "required": False}}

    def get_list_filter(self, request):
        return ["organisation", *super().get_list_filter(request)]

    def get_search_fields(self, request):
        return [*super().get_search_fields(request), "organisation__name"]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        # Moving a row between organisations would orphan its links: choose on creation only.
        return [*readonly, "organisation"] if obj is not None else readonly

    def save_model(self, request, obj, form, change):
        if change:
            stored = type(obj).all_organisations.get(pk=obj.pk)
            for field in encrypted_fields(type(obj)):
                if not form.cleaned_data.get(field.name):
                    setattr(obj, field.name, getattr(stored, field.name))
        super().save_model(request, obj, form, change)
