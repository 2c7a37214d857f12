from django.urls import path

from calendars.views import appointments, integrations, setup

app_name = "calendars"

urlpatterns = [
    path("appointments/", appointments.appointments, name="appointments"),
    path("appointments/week/", appointments.week, name="week"),
    path("appointments/free-times/", appointments.availability, name="availability"),
    path("appointments/new/", appointments.appointment_create, name="appointment_create"),
    path(
        "appointments/<uuid:appointment_id>/",
        appointments.appointment_detail,
        name="appointment",
    ),
    path(
        "appointments/<uuid:appointment_id>/reschedule/",
        appointments.appointment_reschedule,
        name="appointment_reschedule",
    ),
    path(
        "appointments/<uuid:appointment_id>/cancel/",
        appointments.appointment_cancel,
        name="appointment_cancel",
    ),
    path(
        "appointments/<uuid:appointment_id>/complete/",
        appointments.appointment_complete,
        name="appointment_complete",
    ),
    path(
        "appointments/<uuid:appointment_id>/no-show/",
        appointments.appointment_no_show,
        name="appointment_no_show",
    ),
    path("settings/services/", setup.services, name="services"),
    path("settings/services/new/", setup.service_edit, name="service_create"),
    path("settings/services/<uuid:service_id>/", setup.service_edit, name="service_edit"),
    path("settings/hours/", setup.hours, name="hours"),
    path("settings/hours/<uuid:location_id>/", setup.hours_edit, name="hours_edit"),
    path("settings/closures/new/", setup.closure_create, name="closure_create"),
    path(
        "settings/closures/<uuid:closure_id>/delete/",
        setup.closure_delete,
        name="closure_delete",
    ),
    path("integrations/", integrations.integrations, name="integrations"),
    path("integrations/google/connect/", integrations.google_connect, name="google_connect"),
    path("integrations/google/callback/", integrations.google_callback, name="google_callback"),
    path("integrations/calcom/connect/", integrations.calcom_connect, name="calcom_connect"),
    path(
        "integrations/calcom/oauth/",
        integrations.calcom_oauth_connect,
        name="calcom_oauth_connect",
    ),
    path("integrations/calcom/callback/", integrations.calcom_callback, name="calcom_callback"),
    path(
        "integrations/<uuid:connection_id>/",
        integrations.connection_edit,
        name="connection_edit",
    ),
    path(
        "integrations/<uuid:connection_id>/sync/",
        integrations.connection_sync,
        name="connection_sync",
    ),
    path(
        "integrations/<uuid:connection_id>/disconnect/",
        integrations.connection_disconnect,
        name="connection_disconnect",
    ),
    path("webhooks/calcom/", integrations.calcom_webhook, name="calcom_webhook"),
]
