from datetime import UTC, datetime

import factory
from factory.django import DjangoModelFactory

from calendars.tests.factories import AppointmentFactory
from organisations.tests.factories import (
    CustomerFactory,
    LocationFactory,
    OrganisationFactory,
    TenantFactory,
)
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

SAME_ORGANISATION = factory.SelfAttribute("..organisation")


class VoiceAgentFactory(DjangoModelFactory):
    class Meta:
        model = VoiceAgent

    name = factory.Sequence(lambda n: f"Voice agent {n}")
    voice_id = factory.Sequence(lambda n: f"voice-{n}")
    base_prompt = "You are the friendly receptionist of {clinic}."


class CustomVoiceFactory(TenantFactory):
    class Meta:
        model = CustomVoice

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Our voice {n}")
    voice_id = factory.Sequence(lambda n: f"cloned-{n}")


class TelephonySettingsFactory(TenantFactory):
    class Meta:
        model = TelephonySettings

    organisation = factory.SubFactory(OrganisationFactory)


class PhoneNumberFactory(TenantFactory):
    class Meta:
        model = PhoneNumber

    organisation = factory.SubFactory(OrganisationFactory)
    number = factory.Sequence(lambda n: f"+1415555{(n + 5000) % 10000:04d}")
    location = factory.SubFactory(LocationFactory, organisation=SAME_ORGANISATION)
    vapi_phone_number_id = factory.Sequence(lambda n: f"vapi-number-{n}")
    fallback_number = "+14155550199"


class AssistantSettingsFactory(TenantFactory):
    class Meta:
        model = AssistantSettings

    organisation = factory.SubFactory(OrganisationFactory)
    location = factory.SubFactory(LocationFactory, organisation=SAME_ORGANISATION)


class IntentFactory(TenantFactory):
    class Meta:
        model = Intent

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Opening hours {n}")
    phrases = "When are you open?\nWhat are your hours?"
    answers = factory.LazyFunction(
        lambda: {
            "en": "We are open 9 to 5.",
            "es": "Abrimos de 9 a 5.",
            "ru": "Мы открыты с 9 до 5.",  # noqa: RUF001
        }
    )


class CallFactory(TenantFactory):
    class Meta:
        model = Call

    organisation = factory.SubFactory(OrganisationFactory)
    provider_call_id = factory.Sequence(lambda n: f"call-{n:08d}")
    from_number = factory.Sequence(lambda n: f"+1415557{n % 10000:04d}")
    customer_phone = factory.SelfAttribute("from_number")
    to_number = "+14155550100"
    location = factory.SubFactory(LocationFactory, organisation=SAME_ORGANISATION)
    status = Call.Status.ENDED
    outcome = Call.Outcome.ANSWERED
    started_at = factory.LazyFunction(lambda: datetime(2026, 5, 12, 9, 0, tzinfo=UTC))
    ended_at = factory.LazyFunction(lambda: datetime(2026, 5, 12, 9, 3, tzinfo=UTC))
    duration_seconds = 180
    summary = "The caller asked about opening hours."


class TranscriptLineFactory(TenantFactory):
    class Meta:
        model = TranscriptLine

    organisation = factory.SubFactory(OrganisationFactory)
    call = factory.SubFactory(CallFactory, organisation=SAME_ORGANISATION)
    position = factory.Sequence(lambda n: n)
    role = TranscriptLine.Role.CALLER
    text = "Hello, are you open on Saturday?"


class CallAppointmentFactory(TenantFactory):
    class Meta:
        model = CallAppointment

    organisation = factory.SubFactory(OrganisationFactory)
    call = factory.SubFactory(CallFactory, organisation=SAME_ORGANISATION)
    appointment = factory.SubFactory(AppointmentFactory, organisation=SAME_ORGANISATION)
    action = CallAppointment.Action.BOOKED


class EmergencyContactFactory(TenantFactory):
    class Meta:
        model = EmergencyContact

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Faker("name")
    phone = factory.Sequence(lambda n: f"+1415558{n % 10000:04d}")
    role = "On-call dentist"
    priority = factory.Sequence(lambda n: n + 1)


class CallTransferFactory(TenantFactory):
    class Meta:
        model = CallTransfer

    organisation = factory.SubFactory(OrganisationFactory)
    call = factory.SubFactory(CallFactory, organisation=SAME_ORGANISATION)
    contact = factory.SubFactory(EmergencyContactFactory, organisation=SAME_ORGANISATION)
    reason = "Caller asked for a person"
    destination = "+14155550123"


class SmsMessageFactory(TenantFactory):
    class Meta:
        model = SmsMessage

    organisation = factory.SubFactory(OrganisationFactory)
    direction = SmsMessage.Direction.OUTBOUND
    to_number = factory.Sequence(lambda n: f"+1415559{n % 10000:04d}")
    body = "Your appointment is confirmed."
    customer = factory.SubFactory(CustomerFactory, organisation=SAME_ORGANISATION)
    call = factory.SubFactory(CallFactory, organisation=SAME_ORGANISATION)


class EmergencyNotificationFactory(TenantFactory):
    class Meta:
        model = EmergencyNotification

    organisation = factory.SubFactory(OrganisationFactory)
    contact = factory.SubFactory(EmergencyContactFactory, organisation=SAME_ORGANISATION)
    call = factory.SubFactory(CallFactory, organisation=SAME_ORGANISATION)
    location = factory.SubFactory(LocationFactory, organisation=SAME_ORGANISATION)
    message = "Emergency: a caller reports heavy bleeding after an extraction."
    status = EmergencyNotification.Status.SENT


class WebhookDeliveryFactory(DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    provider = WebhookDelivery.Provider.VAPI
    kind = "status-update"
    event_id = factory.Sequence(lambda n: f"event-{n}")
    body = '{"message": {"type": "status-update"}}'
