"""Dashboard pages: calls, and the settings behind the assistant."""

import json
from datetime import datetime, time, timedelta

from django.contrib import messages
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing.entitlements import refusal_for_new_phone_number
from organisations.encryption import encrypted_fields, mask
from organisations.models import AuditEvent, Location
from organisations.pagination import paginate
from organisations.roles import Role, role_required
from organisations.tenancy import current_organisation
from telephony import assistant, events, oncall
from telephony.forms import (
    AssistantSettingsForm,
    CallFilterForm,
    CustomVoiceForm,
    EmergencyContactForm,
    IntentForm,
    PhoneNumberForm,
    TelephonySettingsForm,
)
from telephony.models import (
    AssistantSettings,
    Call,
    CallAppointment,
    CustomVoice,
    EmergencyContact,
    EmergencyNotification,
    Intent,
    PhoneNumber,
    TelephonySettings,
    VoiceAgent,
)
from telephony.providers import vapi

# ---------------------------------------------------------------------------------------------
# Calls


def _filtered_calls(request, form: CallFilterForm):
    calls = Call.objects.select_related("customer", "location").order_by("-created_at")
    if not form.is_valid():
        return calls
    data = form.cleaned_data
    zone = current_organisation().default_location.zone
    if data["date_from"]:
        calls = calls.filter(created_at__gte=datetime.combine(data["date_from"], time.min, zone))
    if data["date_to"]:
        end = datetime.combine(data["date_to"] + timedelta(days=1), time.min, zone)
        calls = calls.filter(created_at__lt=end)
    if data["outcome"]:
        calls = calls.filter(outcome=data["outcome"])
    if data["direction"]:
        calls = calls.filter(direction=data["direction"])
    if data["emergency"]:
        calls = calls.filter(is_emergency=True)
    query = data["q"].strip()
    if query:
        digits = "".join(ch for ch in query if ch.isdigit())
        condition = Q(customer__name__icontains=query)
        if digits:
            condition |= Q(customer_phone__contains=digits) | Q(from_number__contains=digits)
        calls = calls.filter(condition)
    return calls


@role_required(Role.VIEWER)
def calls(request):
    form = CallFilterForm(request.GET or None)
    return render(
        request,
        "telephony/calls.html",
        {"form": form, "page": paginate(request, _filtered_calls(request, form))},
    )


@role_required(Role.VIEWER)
def call_detail(request, call_id):
    call = get_object_or_404(
        Call.objects.select_related("customer", "location", "phone_number"), pk=call_id
    )
    links = CallAppointment.objects.filter(call=call).select_related(
        "appointment__service", "appointment__location"
    )
    return render(
        request,
        "telephony/call_detail.html",
        {
            "call": call,
            "transcript": call.transcript.all(),
            "transfers": call.transfers.select_related("contact"),
            "links": links,
            "texts": call.sms_messages.order_by("created_at"),
            "alerts": call.emergencies.select_related("contact", "acknowledged_by").order_by(
                "created_at"
            ),
            "can_acknowledge": request.membership.allows(Role.STAFF),
        },
    )


@role_required(Role.STAFF)
@require_POST
def emergency_acknowledge(request, notification_id):
    alert = get_object_or_404(EmergencyNotification.objects, pk=notification_id)
    if oncall.acknowledge(alert, user=request.user):
        AuditEvent.record(request, "emergency.acknowledged", alert)
        messages.success(request, _("Emergency acknowledged: escalation stopped."))
    else:
        messages.info(request, _("Someone had already acknowledged this emergency."))
    target = reverse("telephony:call", args=[alert.call_id]) if alert.call_id else None
    return redirect(target or "telephony:emergency_contacts")


# ---------------------------------------------------------------------------------------------
# Generic create/edit/delete for the settings pages


def _changes(form) -> dict:
    secret = {field.name for field in encrypted_fields(form._meta.model)}
    return {
        name: "(changed)" if name in secret else str(form.cleaned_data.get(name))
        for name in form.changed_data
    }


def _edit(request, form_class, instance, *, action: str, done: str, title: str, **context):
    form = form_class(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        verb = "created" if form.instance._state.adding else "updated"
        saved = form.save()
        AuditEvent.record(request, f"{action}.{verb}", saved, after=_changes(form))
        messages.success(request, _("%(name)s saved.") % {"name": saved})
        return redirect(done)
    return render(
        request,
        "telephony/form.html",
        {"form": form, "title": title, "back": reverse(done), "object": instance, **context},
    )


def _delete(request, obj, *, action: str, done: str):
    name = str(obj)
    obj.delete()
    AuditEvent.record(request, f"{action}.deleted", obj, before={"name": name})
    messages.success(request, _("%(name)s deleted.") % {"name": name})
    return redirect(done)


# ---------------------------------------------------------------------------------------------
# Phone numbers and the organisation's telephony settings


@role_required(Role.VIEWER)
def phone_numbers(request):
    config = TelephonySettings.current()
    return render(
        request,
        "telephony/phone_numbers.html",
        {
            "numbers": PhoneNumber.objects.select_related("location"),
            "config": config,
            "masked_token": mask(config.twilio_auth_token),
            "can_manage": request.membership.allows(Role.ADMIN),
        },
    )


@role_required(Role.ADMIN)
def phone_number_edit(request, number_id=None):
    number = get_object_or_404(PhoneNumber.objects, pk=number_id) if number_id else None
    if number is None and request.method == "POST":
        refusal = refusal_for_new_phone_number(request.organisation)
        if refusal:
            messages.error(request, refusal)
            return redirect("telephony:phone_numbers")
    return _edit(
        request,
        PhoneNumberForm,
        number,
        action="phone_number",
        done="telephony:phone_numbers",
        title=_("Phone number"),
    )


@role_required(Role.ADMIN)
@require_POST
def phone_number_delete(request, number_id):
    number = get_object_or_404(PhoneNumber.objects, pk=number_id)
    return _delete(request, number, action="phone_number", done="telephony:phone_numbers")


@role_required(Role.ADMIN)
def telephony_settings(request):
    return _edit(
        request,
        TelephonySettingsForm,
        TelephonySettings.current(),
        action="telephony_settings",
        done="telephony:phone_numbers",
        title=_("Twilio account and texts"),
    )


# ---------------------------------------------------------------------------------------------
# Assistant settings, voices and the preview


@role_required(Role.VIEWER)
def assistant_settings(request):
    configured = {
        s.location_id: s
        for s in AssistantSettings.objects.select_related("voice_agent", "custom_voice")
    }
    rows = [(location, configured.get(location.pk)) for location in Location.objects.all()]
    return render(
        request,
        "telephony/assistant.html",
        {
            "rows": rows,
            "voices": CustomVoice.objects.all(),
            "default_agent": VoiceAgent.default(),
            "numbers": PhoneNumber.objects.filter(active=True).select_related("location"),
            "can_manage": request.membership.allows(Role.ADMIN),
        },
    )


@role_required(Role.ADMIN)
def assistant_edit(request, location_id):
    location = get_object_or_404(Location.objects, pk=location_id)
    return _edit(
        request,
        AssistantSettingsForm,
        AssistantSettings.for_location(location),
        action="assistant_settings",
        done="telephony:assistant",
        title=_("Assistant at %(location)s") % {"location": location},
    )


@role_required(Role.ADMIN)
def voice_edit(request, voice_id=None):
    voice = get_object_or_404(CustomVoice.objects, pk=voice_id) if voice_id else None
    return _edit(
        request,
        CustomVoiceForm,
        voice,
        action="custom_voice",
        done="telephony:assistant",
        title=_("Custom voice"),
    )


@role_required(Role.ADMIN)
@require_POST
def voice_delete(request, voice_id):
    voice = get_object_or_404(CustomVoice.objects, pk=voice_id)
    return _delete(request, voice, action="custom_voice", done="telephony:assistant")


@role_required(Role.ADMIN)
def assistant_preview(request):
    """The exact answer Vapi would get to an assistant-request for a number, right now."""
    numbers = PhoneNumber.objects.filter(active=True).select_related("location")
    chosen = request.GET.get("number")
    number = get_object_or_404(numbers, pk=chosen) if chosen else numbers.first()
    preview, open_now = None, False
    if number is not None:
        snapshot = assistant.snapshot_for(number)
        now = timezone.now()
        preview_call = Call(id=None, organisation=request.organisation, location=number.location)
        config = assistant.build(snapshot, now, call=preview_call)
        answer = vapi.assistant_response(events.render_assistant(config))
        headers = answer["assistant"]["server"].get("headers", {})
        for name in headers:
            headers[name] = mask(headers[name])
        preview = json.dumps(answer, indent=2, ensure_ascii=False)
        open_now = snapshot.is_open(now)
    return render(
        request,
        "telephony/preview.html",
        {
            "numbers": numbers,
            "number": number,
            "preview": preview,
            "open_now": open_now,
        },
    )


# ---------------------------------------------------------------------------------------------
# Intents


@role_required(Role.VIEWER)
def intents(request):
    return render(
        request,
        "telephony/intents.html",
        {
            "intents": Intent.objects.select_related("location"),
            "can_manage": request.membership.allows(Role.ADMIN),
        },
    )


@role_required(Role.ADMIN)
def intent_edit(request, intent_id=None):
    intent = get_object_or_404(Intent.objects, pk=intent_id) if intent_id else None
    return _edit(
        request, IntentForm, intent, action="intent", done="telephony:intents", title=_("Intent")
    )


@role_required(Role.ADMIN)
@require_POST
def intent_delete(request, intent_id):
    intent = get_object_or_404(Intent.objects, pk=intent_id)
    return _delete(request, intent, action="intent", done="telephony:intents")


# ---------------------------------------------------------------------------------------------
# Emergency rota


@role_required(Role.VIEWER)
def emergency_contacts(request):
    location = current_organisation().default_location
    on_call = {contact.pk for contact in oncall.rota(location)}
    alerts = EmergencyNotification.objects.select_related("contact", "call").order_by(
        "-created_at"
    )[:20]
    return render(
        request,
        "telephony/emergency_rota.html",
        {
            "contacts": EmergencyContact.objects.select_related("location"),
            "on_call": on_call,
            "alerts": alerts,
            "can_manage": request.membership.allows(Role.ADMIN),
            "can_acknowledge": request.membership.allows(Role.STAFF),
        },
    )


@role_required(Role.ADMIN)
def emergency_contact_edit(request, contact_id=None):
    contact = get_object_or_404(EmergencyContact.objects, pk=contact_id) if contact_id else None
    return _edit(
        request,
        EmergencyContactForm,
        contact,
        action="emergency_contact",
        done="telephony:emergency_contacts",
        title=_("On-call contact"),
    )


@role_required(Role.ADMIN)
@require_POST
def emergency_contact_delete(request, contact_id):
    contact = get_object_or_404(EmergencyContact.objects, pk=contact_id)
    return _delete(
        request, contact, action="emergency_contact", done="telephony:emergency_contacts"
    )
