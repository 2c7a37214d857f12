from django.contrib import admin, messages

from organisations.admin_base import TenantAdmin
from telephony import events
from telephony.models import (
    AssistantSettings,
    Call,
    CallAppointment,
    CallTransfer,
    CustomVoice,
    EmergencyContact,
    EmergencyNotification,
    Intent,
    PhoneNumber,
    SmsMessage,
    TelephonySettings,
    TranscriptLine,
    VoiceAgent,
    WebhookDelivery,
)


@admin.register(VoiceAgent)
class VoiceAgentAdmin(admin.ModelAdmin):
    list_display = ["name", "voice_provider", "voice_id", "model_provider", "model", "is_default"]
    list_filter = ["active", "voice_provider", "model_provider"]
    search_fields = ["name", "voice_id"]


@admin.register(CustomVoice)
class CustomVoiceAdmin(TenantAdmin):
    list_display = ["name", "organisation", "provider", "voice_id", "active"]
    search_fields = ["name", "voice_id"]


@admin.register(TelephonySettings)
class TelephonySettingsAdmin(TenantAdmin):
    list_display = ["organisation", "twilio_account_sid", "sms_confirmations", "sms_reminders"]


@admin.register(PhoneNumber)
class PhoneNumberAdmin(TenantAdmin):
    list_display = ["number", "organisation", "label", "provider", "active", "is_primary"]
    list_filter = ["provider", "active"]
    search_fields = ["number", "vapi_phone_number_id", "twilio_sid"]


@admin.register(AssistantSettings)
class AssistantSettingsAdmin(TenantAdmin):
    list_display = ["location", "organisation", "voice_agent", "transfer_mode", "updated_at"]


@admin.register(Intent)
class IntentAdmin(TenantAdmin):
    list_display = ["name", "organisation", "action", "active", "order"]
    search_fields = ["name", "phrases"]


class TranscriptInline(admin.TabularInline):
    model = TranscriptLine
    extra = 0
    fields = ["position", "role", "text", "spoken_at"]
    readonly_fields = fields


@admin.register(Call)
class CallAdmin(TenantAdmin):
    list_display = ["created_at", "organisation", "from_number", "to_number", "status", "outcome"]
    list_filter = ["status", "outcome", "direction", "is_emergency", "provider"]
    search_fields = ["provider_call_id", "twilio_call_sid", "from_number", "customer_phone"]
    date_hierarchy = "created_at"
    raw_id_fields = ["customer", "phone_number", "location"]
    inlines = [TranscriptInline]


@admin.register(CallAppointment)
class CallAppointmentAdmin(TenantAdmin):
    list_display = ["call", "appointment", "action", "created_at"]
    raw_id_fields = ["call", "appointment"]


@admin.register(CallTransfer)
class CallTransferAdmin(TenantAdmin):
    list_display = ["created_at", "organisation", "destination", "status", "urgency"]
    list_filter = ["status", "urgency"]
    raw_id_fields = ["call", "contact"]


@admin.register(EmergencyContact)
class EmergencyContactAdmin(TenantAdmin):
    list_display = ["name", "organisation", "phone", "priority", "active"]
    search_fields = ["name", "phone"]


@admin.register(EmergencyNotification)
class EmergencyNotificationAdmin(TenantAdmin):
    list_display = ["created_at", "organisation", "contact", "status", "escalate_at"]
    list_filter = ["status"]
    raw_id_fields = ["contact", "call", "sms", "location", "acknowledged_by"]


@admin.register(SmsMessage)
class SmsMessageAdmin(TenantAdmin):
    list_display = [
        "created_at",
        "organisation",
        "direction",
        "to_number",
        "status",
        "template_key",
    ]
    list_filter = ["direction", "status"]
    search_fields = ["to_number", "from_number", "twilio_sid", "body"]
    raw_id_fields = ["customer", "call", "appointment"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "received_at",
        "provider",
        "kind",
        "event_id",
        "organisation",
        "processed_at",
        "attempts",
        "failed",
    ]
    list_filter = ["provider", "kind", ("processed_at", admin.EmptyFieldListFilter)]
    search_fields = ["event_id", "body"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["replay"]

    @admin.display(boolean=True)
    def failed(self, delivery):
        return bool(delivery.error)

    @admin.action(description="Replay the selected deliveries")
    def replay(self, request, queryset):
        done = failed = 0
        for delivery in queryset:
            try:
                events.replay(delivery)
            except Exception as exc:
                failed += 1
                self.message_user(request, f"{delivery}: {exc}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, f"{done} replayed.", messages.SUCCESS)

    def has_add_permission(self, request):
        return False
