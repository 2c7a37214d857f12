"""Cross-tenant cases for every telephony URL (see organisations/isolation.py)."""

from organisations.isolation import ObjectCase
from organisations.tests.factories import LocationFactory
from telephony.tests.factories import (
    CallFactory,
    CustomVoiceFactory,
    EmergencyContactFactory,
    EmergencyNotificationFactory,
    IntentFactory,
    PhoneNumberFactory,
)


def _call(org):
    return CallFactory(organisation=org, summary="Leaked-Call-Summary")


def _number(org):
    return PhoneNumberFactory(organisation=org, label="Leaked-Number-Label")


def _intent(org):
    return IntentFactory(organisation=org, name="Leaked-Intent")


def _contact(org):
    return EmergencyContactFactory(organisation=org, name="Leaked-Contact")


def _voice(org):
    return CustomVoiceFactory(organisation=org, name="Leaked-Voice")


OBJECT_URLS = {
    "telephony:call": ObjectCase(_call, "call_id"),
    "telephony:emergency_acknowledge": ObjectCase(
        lambda org: EmergencyNotificationFactory(organisation=org), "notification_id"
    ),
    "telephony:phone_number_edit": ObjectCase(_number, "number_id"),
    "telephony:phone_number_delete": ObjectCase(_number, "number_id"),
    "telephony:assistant_edit": ObjectCase(
        lambda org: LocationFactory(organisation=org), "location_id"
    ),
    "telephony:voice_edit": ObjectCase(_voice, "voice_id"),
    "telephony:voice_delete": ObjectCase(_voice, "voice_id"),
    "telephony:intent_edit": ObjectCase(_intent, "intent_id"),
    "telephony:intent_delete": ObjectCase(_intent, "intent_id"),
    "telephony:emergency_contact_edit": ObjectCase(_contact, "contact_id"),
    "telephony:emergency_contact_delete": ObjectCase(_contact, "contact_id"),
}

LIST_URLS = {
    "telephony:calls": lambda org: _call(org).summary,
    "telephony:phone_numbers": lambda org: _number(org).label,
    "telephony:phone_number_create": lambda org: _number(org).label,
    "telephony:telephony_settings": lambda org: _number(org).label,
    "telephony:assistant": lambda org: _voice(org).name,
    "telephony:assistant_preview": lambda org: _number(org).label,
    "telephony:voice_create": lambda org: _voice(org).name,
    "telephony:intents": lambda org: _intent(org).name,
    "telephony:intent_create": lambda org: (
        LocationFactory(organisation=org, name="Leaked-Site").name
    ),
    "telephony:emergency_contacts": lambda org: _contact(org).name,
    "telephony:emergency_contact_create": lambda org: _contact(org).name,
}

EXEMPT_URLS = {
    "telephony:vapi_webhook": "provider webhook: authenticated by the Vapi secret/HMAC; the "
    "organisation comes from the called number (test_webhooks_vapi, test_isolation)",
    "telephony:twilio_voice": "provider webhook: Twilio signature; organisation from To",
    "telephony:twilio_status": "provider webhook: Twilio signature; organisation from To",
    "telephony:twilio_sms": "provider webhook: Twilio signature; organisation from To",
    "telephony:twilio_sms_status": "provider webhook: Twilio signature; organisation from From",
}
