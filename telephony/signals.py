"""Keeping derived state right when rows change elsewhere.

* The per-number assistant snapshot (telephony.assistant) is dropped whenever something it is
  built from changes: immediately (so this request sees it) and again on commit (so a request
  that read the old rows meanwhile cannot keep them cached).
* Appointment changes from calendars (booked, moved, cancelled) text the customer.
"""

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from calendars.models import Closure, Service, ServiceLocation, WorkingHours
from calendars.signals import appointment_changed
from organisations.models import Location, Organisation
from telephony import appointment_texts, assistant
from telephony.models import AssistantSettings, CustomVoice, Intent, PhoneNumber, VoiceAgent

SNAPSHOT_SOURCES = [
    PhoneNumber,
    AssistantSettings,
    Intent,
    CustomVoice,
    Location,
    WorkingHours,
    Closure,
    Service,
    ServiceLocation,
]


def _forget_organisation(sender, instance, **kwargs):
    organisation_id = (
        instance.pk if isinstance(instance, Organisation) else instance.organisation_id
    )
    assistant.forget(organisation_id)
    transaction.on_commit(lambda: assistant.forget(organisation_id))


def _forget_catalogue(sender, instance, **kwargs):
    assistant.forget_catalogue()
    transaction.on_commit(assistant.forget_catalogue)


def _appointment_changed(sender, appointment, change, **kwargs):
    appointment_texts.confirm(appointment, change)


def connect() -> None:
    for model in SNAPSHOT_SOURCES:
        uid = f"telephony.forget_assistants.{model._meta.label}"
        post_save.connect(_forget_organisation, sender=model, dispatch_uid=uid)
        post_delete.connect(_forget_organisation, sender=model, dispatch_uid=uid + ".delete")
    post_save.connect(_forget_organisation, sender=Organisation, dispatch_uid="telephony.org")
    for signal in (post_save, post_delete):
        signal.connect(_forget_catalogue, sender=VoiceAgent, dispatch_uid=f"telephony.{signal}")
    appointment_changed.connect(_appointment_changed, dispatch_uid="telephony.confirm_appointment")
