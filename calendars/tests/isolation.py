"""Cross-tenant cases for every calendars URL (see organisations/isolation.py)."""

from calendars.tests.factories import (
    AppointmentFactory,
    CalendarConnectionFactory,
    ClosureFactory,
    ServiceFactory,
)
from organisations.isolation import ObjectCase
from organisations.tests.factories import LocationFactory


def _appointment(org):
    return AppointmentFactory(organisation=org, name="Leaked-Appointment-Person")


def _appointment_marker(org):
    appointment = _appointment(org)
    return appointment.name


def _service_marker(org):
    return ServiceFactory(organisation=org, name="Leaked-Service").name


def _location_marker(org):
    return LocationFactory(organisation=org, name="Leaked-Location").name


def _closure_marker(org):
    return ClosureFactory(organisation=org, reason="Leaked-Closure").reason


def _connection_marker(org):
    return CalendarConnectionFactory(organisation=org, account="leaked-account@b.example").account


def _appointment_case():
    return ObjectCase(_appointment, "appointment_id")


OBJECT_URLS = {
    "calendars:appointment": _appointment_case(),
    "calendars:appointment_reschedule": _appointment_case(),
    "calendars:appointment_cancel": _appointment_case(),
    "calendars:appointment_complete": _appointment_case(),
    "calendars:appointment_no_show": _appointment_case(),
    "calendars:service_edit": ObjectCase(
        lambda org: ServiceFactory(organisation=org), "service_id"
    ),
    "calendars:hours_edit": ObjectCase(
        lambda org: LocationFactory(organisation=org), "location_id"
    ),
    "calendars:closure_delete": ObjectCase(
        lambda org: ClosureFactory(organisation=org), "closure_id"
    ),
    "calendars:connection_edit": ObjectCase(
        lambda org: CalendarConnectionFactory(organisation=org), "connection_id"
    ),
    "calendars:connection_sync": ObjectCase(
        lambda org: CalendarConnectionFactory(organisation=org), "connection_id"
    ),
    "calendars:connection_disconnect": ObjectCase(
        lambda org: CalendarConnectionFactory(organisation=org), "connection_id"
    ),
}

LIST_URLS = {
    "calendars:appointments": _appointment_marker,
    "calendars:week": _appointment_marker,
    "calendars:availability": _service_marker,
    "calendars:appointment_create": _service_marker,
    "calendars:services": _service_marker,
    "calendars:service_create": _location_marker,
    "calendars:hours": _closure_marker,
    "calendars:closure_create": _location_marker,
    "calendars:integrations": _connection_marker,
    "calendars:google_connect": _location_marker,
    "calendars:google_callback": _connection_marker,
    "calendars:calcom_connect": _connection_marker,
    "calendars:calcom_oauth_connect": _location_marker,
    "calendars:calcom_callback": _connection_marker,
}

EXEMPT_URLS = {
    "calendars:calcom_webhook": "Cal.com's server, signed; tested in test_calcom_webhook",
}
