from django.urls import path

from telephony import views, webhooks

app_name = "telephony"

urlpatterns = [
    # Provider webhooks (ARCHITECTURE §4). The voice path is the one reference 001's Twilio
    # numbers already point at.
    path("webhooks/vapi/", webhooks.vapi_webhook, name="vapi_webhook"),
    path("webhooks/twilio/voice/", webhooks.twilio_voice, name="twilio_voice"),
    path("webhooks/twilio/status/", webhooks.twilio_call_status, name="twilio_status"),
    path("webhooks/twilio/sms/", webhooks.twilio_sms, name="twilio_sms"),
    path("webhooks/twilio/sms-status/", webhooks.twilio_sms_status, name="twilio_sms_status"),
    # Dashboard
    path("calls/", views.calls, name="calls"),
    path("calls/<uuid:call_id>/", views.call_detail, name="call"),
    path(
        "emergencies/<uuid:notification_id>/acknowledge/",
        views.emergency_acknowledge,
        name="emergency_acknowledge",
    ),
    path("settings/phone-numbers/", views.phone_numbers, name="phone_numbers"),
    path("settings/phone-numbers/new/", views.phone_number_edit, name="phone_number_create"),
    path(
        "settings/phone-numbers/<uuid:number_id>/",
        views.phone_number_edit,
        name="phone_number_edit",
    ),
    path(
        "settings/phone-numbers/<uuid:number_id>/delete/",
        views.phone_number_delete,
        name="phone_number_delete",
    ),
    path("settings/telephony/", views.telephony_settings, name="telephony_settings"),
    path("settings/assistant/", views.assistant_settings, name="assistant"),
    path("settings/assistant/preview/", views.assistant_preview, name="assistant_preview"),
    path("settings/assistant/<uuid:location_id>/", views.assistant_edit, name="assistant_edit"),
    path("settings/voices/new/", views.voice_edit, name="voice_create"),
    path("settings/voices/<uuid:voice_id>/", views.voice_edit, name="voice_edit"),
    path("settings/voices/<uuid:voice_id>/delete/", views.voice_delete, name="voice_delete"),
    path("settings/intents/", views.intents, name="intents"),
    path("settings/intents/new/", views.intent_edit, name="intent_create"),
    path("settings/intents/<uuid:intent_id>/", views.intent_edit, name="intent_edit"),
    path("settings/intents/<uuid:intent_id>/delete/", views.intent_delete, name="intent_delete"),
    path("settings/emergency-rota/", views.emergency_contacts, name="emergency_contacts"),
    path(
        "settings/emergency-rota/new/",
        views.emergency_contact_edit,
        name="emergency_contact_create",
    ),
    path(
        "settings/emergency-rota/<uuid:contact_id>/",
        views.emergency_contact_edit,
        name="emergency_contact_edit",
    ),
    path(
        "settings/emergency-rota/<uuid:contact_id>/delete/",
        views.emergency_contact_delete,
        name="emergency_contact_delete",
    ),
]
