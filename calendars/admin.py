from django.contrib import admin, messages

from calendars import webhooks
from calendars.models import (
    Appointment,
    BusyBlock,
    CalendarConnection,
    CalendarWebhookDelivery,
    Closure,
    Service,
    WorkingHours,
)
from organisations.admin_base import TenantAdmin
from organisations.tenancy import platform_transaction


@admin.register(Service)
class ServiceAdmin(TenantAdmin):
    list_display = ["name", "organisation", "duration", "buffer_before", "buffer_after", "active"]
    list_filter = ["active"]
    search_fields = ["name"]


@admin.register(WorkingHours)
class WorkingHoursAdmin(TenantAdmin):
    list_display = ["location", "organisation", "weekday", "start_time", "end_time"]
    list_filter = ["weekday"]
    search_fields = ["location__name"]


@admin.register(Closure)
class ClosureAdmin(TenantAdmin):
    list_display = ["reason", "organisation", "location", "start_date", "end_date"]
    search_fields = ["reason", "location__name"]


@admin.register(Appointment)
class AppointmentAdmin(TenantAdmin):
    list_display = ["start_at", "organisation", "location", "service", "name", "status", "source"]
    list_filter = ["status", "source", "is_emergency"]
    search_fields = ["name", "phone", "email", "calcom_booking_uid", "google_event_id"]
    date_hierarchy = "start_at"
    raw_id_fields = ["customer"]


@admin.register(CalendarConnection)
class CalendarConnectionAdmin(TenantAdmin):
    list_display = ["provider", "organisation", "location", "status", "last_synced_at"]
    list_filter = ["provider", "status"]
    search_fields = ["account", "location__name"]
    readonly_fields = ["last_synced_at", "last_error", "last_error_at"]


@admin.register(BusyBlock)
class BusyBlockAdmin(TenantAdmin):
    list_display = ["start_at", "end_at", "organisation", "location", "connection"]


@admin.register(CalendarWebhookDelivery)
class CalendarWebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "received_at",
        "provider",
        "trigger",
        "event_id",
        "organisation",
        "processed_at",
    ]
    list_filter = ["provider", "trigger"]
    search_fields = ["event_id", "body"]
    readonly_fields = [field.name for field in CalendarWebhookDelivery._meta.fields]
    actions = ["replay"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Process again (replay)")
    def replay(self, request, queryset):
        for delivery in queryset:
            with platform_transaction():
                type(delivery).objects.filter(pk=delivery.pk).update(processed_at=None)
            replayed = webhooks.process(delivery.pk)
            level = messages.ERROR if replayed.error else messages.SUCCESS
            self.message_user(request, f"{replayed}: {replayed.error or 'processed'}", level)
