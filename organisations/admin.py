from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from organisations.admin_base import TenantAdmin
from organisations.models import (
    ApiKey,
    AuditEvent,
    Customer,
    Invitation,
    Location,
    Membership,
    Notification,
    Organisation,
    User,
)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["full_name", "language"]}),
        (
            "Access",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


class LocationInline(admin.TabularInline):
    model = Location
    extra = 0
    fields = ["name", "timezone", "is_default"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role"]
    autocomplete_fields = ["user"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "industry", "country", "status", "created_at"]
    list_filter = ["status", "industry", "country"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [LocationInline, MembershipInline]


@admin.register(Location)
class LocationAdmin(TenantAdmin):
    list_display = ["name", "organisation", "timezone", "is_default"]
    search_fields = ["name", "address"]


@admin.register(Membership)
class MembershipAdmin(TenantAdmin):
    list_display = ["user", "organisation", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "user__full_name"]
    autocomplete_fields = ["user"]


@admin.register(Invitation)
class InvitationAdmin(TenantAdmin):
    list_display = ["email", "organisation", "role", "status", "expires_at", "created_at"]
    list_filter = ["status", "role"]
    search_fields = ["email"]
    # The token hash is never shown: the link cannot be rebuilt from it anyway.
    exclude = ["token_hash"]
    readonly_fields = ["invited_by", "accepted_by", "responded_at", "sent_count"]


@admin.register(Customer)
class CustomerAdmin(TenantAdmin):
    list_display = ["name", "phone", "organisation", "sms_opt_out", "last_contact_at"]
    list_filter = ["sms_opt_out", "preferred_language"]
    search_fields = ["name", "phone", "email"]


@admin.register(AuditEvent)
class AuditEventAdmin(TenantAdmin):
    list_display = ["created_at", "organisation", "actor", "action", "target_repr", "ip_address"]
    list_filter = ["action"]
    search_fields = ["action", "target_repr", "actor__email"]
    date_hierarchy = "created_at"

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(Notification)
class NotificationAdmin(TenantAdmin):
    list_display = ["title", "organisation", "level", "recipient", "read_at", "created_at"]
    list_filter = ["level"]
    search_fields = ["title", "body"]


@admin.register(ApiKey)
class ApiKeyAdmin(TenantAdmin):
    list_display = ["name", "organisation", "prefix", "role", "last_used_at", "revoked_at"]
    list_filter = ["role"]
    search_fields = ["name", "prefix"]
    # Only the hash is stored, and even that stays out of the page.
    exclude = ["key_hash"]
    readonly_fields = ["prefix", "created_by", "last_used_at"]
