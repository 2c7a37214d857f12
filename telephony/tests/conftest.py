from datetime import time
from types import SimpleNamespace

import pytest
from django.core.cache import cache

from calendars.tests.factories import ServiceFactory, WorkingHoursFactory
from organisations.tenancy import tenant_transaction
from telephony import sms
from telephony.models import AssistantSettings
from telephony.tests.factories import (
    AssistantSettingsFactory,
    PhoneNumberFactory,
    VoiceAgentFactory,
)


@pytest.fixture(autouse=True)
def _fresh_outbox_and_cache():
    sms.outbox.clear()
    cache.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def clinic(org):
    """Bright Smile Dental's Camden site (Europe/London): a number, assistant settings that
    book at any hour, a check-up service and opening hours 09:00-17:00 every day."""
    location = org.default_location
    location.phone = "+442079460000"
    with tenant_transaction(org):
        location.save()
    VoiceAgentFactory(name="Sarah", is_default=True)
    number = PhoneNumberFactory(
        organisation=org,
        location=location,
        number="+442079460100",
        vapi_phone_number_id="vapi-pn-camden",
        fallback_number="+442079460199",
        is_primary=True,
    )
    settings = AssistantSettingsFactory(
        organisation=org,
        location=location,
        transfer_number="+442079460150",
        message_notify_number="+447911123555",
        after_hours_behaviour=AssistantSettings.AfterHours.BOOK_ANYWAY,
    )
    service = ServiceFactory(organisation=org, name="Check-up", duration=30, min_notice=0)
    for weekday in range(7):
        WorkingHoursFactory(
            organisation=org,
            location=location,
            weekday=weekday,
            start_time=time(9),
            end_time=time(17),
        )
    return SimpleNamespace(
        org=org, location=location, number=number, settings=settings, service=service
    )


@pytest.fixture
def other_clinic(other_org):
    """Pacific Physio's number, for cross-tenant checks."""
    location = other_org.default_location
    number = PhoneNumberFactory(
        organisation=other_org,
        location=location,
        number="+13105550140",
        vapi_phone_number_id="vapi-pn-santa-monica",
    )
    return SimpleNamespace(org=other_org, location=location, number=number)
