"""What each provider event does, once it is authenticated and stored (telephony.webhooks).

Every handler runs inside the organisation the event belongs to (`tenant_transaction`), is
idempotent, and never moves a call backwards: statuses only rise, and once the end-of-call report
is in, live events for that call are ignored. The same functions replay stored deliveries from
the admin.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F, Max
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from billing.usage import record_call_usage
from organisations.models import Customer, Notification
from organisations.providers import ProviderError
from organisations.tenancy import platform_transaction, tenant_transaction
from telephony import assistant, oncall, sms, tools
from telephony.models import (
    Call,
    CallTransfer,
    PhoneNumber,
    SmsMessage,
    TelephonySettings,
    TranscriptLine,
    WebhookDelivery,
)
from telephony.providers import twilio, vapi

logger = logging.getLogger(__name__)

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
START_WORDS = {"START", "UNSTOP"}
HELP_WORDS = {"HELP", "INFO"}
PUT_THROUGH = {
    "en": "Please hold while I put you through.",
    "es": "Un momento, le paso la llamada.",
    "ru": "Пожалуйста, подождите, я вас соединяю.",
}
NOBODY_AVAILABLE = "Sorry, nobody is available to take your call right now."
NOT_CONNECTED = "This call is not connected to a clinic, so the tool cannot run."
# Vapi message types whose answer Vapi uses: a repeated delivery is answered again.
VAPI_ANSWERED = {"assistant-request", "tool-calls", "transfer-destination-request"}
# Twilio endpoints whose answer Twilio uses.
TWILIO_ANSWERED = {"voice"}


# ---------------------------------------------------------------------------------------------
# Routing and the raw store


def vapi_number(message: vapi.ServerMessage) -> PhoneNumber | None:
    """The number (and so the organisation) a Vapi message is about: from the metadata we put on
    the assistant, else from the called number or Vapi's number id. Platform code."""
    metadata = message.metadata
    number_id = _uuid(metadata.get("phone_number_id"))
    if number_id is not None:
        number = PhoneNumber.route(pk=number_id)
        if number is not None and str(number.organisation_id) == str(
            metadata.get("organisation_id")
        ):
            return number
    return PhoneNumber.route(number=message.our_number, vapi_id=message.vapi_phone_number_id)


def twilio_number(kind: str, params) -> PhoneNumber | None:
    """Our number in a Twilio form: the called number, or the sender of our own texts."""
    ours = params.get("From", "") if kind == "sms-status" else params.get("To", "")
    return PhoneNumber.route(number=ours)


def twilio_token(number: PhoneNumber | None) -> str:
    """The auth token Twilio signs with: the organisation's own (sub)account's, else ours."""
    if number is not None:
        own = TelephonySettings.all_organisations.filter(organisation_id=number.organisation_id)
        config = own.first()
        if config is not None and config.twilio_auth_token:
            return config.twilio_auth_token
    return settings.TWILIO_AUTH_TOKEN


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def store(
    *, provider: str, kind: str, event_id: str, headers: dict, body: str, number
) -> tuple[WebhookDelivery, bool]:
    """Keep the raw delivery (before processing); returns (delivery, first time seen)."""
    return WebhookDelivery.objects.get_or_create(
        provider=provider,
        event_id=event_id[:255],
        defaults={
            "kind": kind[:64],
            "headers": headers,
            "body": body,
            "organisation_id": number.organisation_id if number else None,
        },
    )


@dataclass(frozen=True)
class TwilioAnswer:
    """What Twilio gets back: TwiML, or nothing (204) for callbacks."""

    twiml: str = ""


# ---------------------------------------------------------------------------------------------
# Vapi


def handle_vapi(message: vapi.ServerMessage, number: PhoneNumber | None) -> dict:
    handler = VAPI_HANDLERS.get(message.type)
    if handler is None:
        return {}
    about_a_call = message.call_id or _uuid(message.metadata.get("call_id"))
    if number is None or not (about_a_call or message.type == "assistant-request"):
        return _unrouted(message)
    with tenant_transaction(number.organisation):
        return handler(message, number)


def _unrouted(message: vapi.ServerMessage) -> dict:
    if message.type == "assistant-request":
        return vapi.error_response(assistant.NOT_IN_SERVICE)
    if message.type == "tool-calls":
        return vapi.tool_results(
            [vapi.ToolResult(c.id, c.name, error=NOT_CONNECTED) for c in vapi.tool_calls(message)]
        )
    if message.type == "transfer-destination-request":
        return vapi.error_response(NOBODY_AVAILABLE)
    return {}


def vapi_failure_answer(message: vapi.ServerMessage, number: PhoneNumber | None) -> dict:
    """What Vapi gets when handling an answered message failed: the caller is never dropped."""
    if message.type == "assistant-request" and number is not None and number.fallback_number:
        return vapi.forward_response(number.fallback_number)
    if message.type == "tool-calls":
        return vapi.tool_results(
            [
                vapi.ToolResult(c.id, c.name, error="Something went wrong; take a message.")
                for c in vapi.tool_calls(message)
            ]
        )
    if message.type in VAPI_ANSWERED:
        return vapi.error_response(assistant.UNAVAILABLE)
    return {}


def render_assistant(config: assistant.AssistantConfig) -> dict:
    return vapi.assistant_json(
        config,
        server_url=settings.PUBLIC_BASE_URL + reverse("telephony:vapi_webhook"),
        secret=settings.VAPI_WEBHOOK_SECRET,
        credential_id=settings.VAPI_SERVER_CREDENTIAL_ID,
    )


def _call_id(message: vapi.ServerMessage) -> str:
    return message.call_id or f"unknown-{message.digest[:24]}"


def ensure_call(message: vapi.ServerMessage, number: PhoneNumber) -> Call:
    """The call a Vapi message is about, locked for the update; created if we never saw it (an
    event can arrive before, or without, the assistant-request)."""
    calls = Call.objects.select_for_update(of=("self",)).select_related("customer", "location")
    our_id = _uuid(message.metadata.get("call_id"))
    call = calls.filter(pk=our_id).first() if our_id else None
    if call is None:
        call = calls.filter(provider=Call.Provider.VAPI, provider_call_id=_call_id(message)).first()
    if call is None:
        assistant.open_call(
            number,
            provider=Call.Provider.VAPI,
            provider_call_id=_call_id(message),
            caller=message.caller_number,
            direction=message.direction,
            twilio_call_sid=message.twilio_call_sid,
            when=message.timestamp,
        )
        call = calls.get(provider=Call.Provider.VAPI, provider_call_id=_call_id(message))
    return call


def assistant_request(message: vapi.ServerMessage, number: PhoneNumber) -> dict:
    decision = assistant.answer_call(
        number,
        provider=Call.Provider.VAPI,
        provider_call_id=_call_id(message),
        caller=message.caller_number,
        twilio_call_sid=message.twilio_call_sid,
    )
    if decision.action == "refuse":
        return vapi.error_response(decision.spoken)
    if decision.action == "forward":
        return vapi.forward_response(decision.forward_to)
    return vapi.assistant_response(render_assistant(decision.config))


def tool_calls(message: vapi.ServerMessage, number: PhoneNumber) -> dict:
    call = ensure_call(message, number)
    context = tools.ToolContext(
        call=call,
        location=call.location or number.location or number.organisation.default_location,
        snapshot=assistant.snapshot_for(number),
        now=timezone.now(),
    )
    results = []
    for tool_call in vapi.tool_calls(message):
        result, error = tools.run(context, tool_call.id, tool_call.name, tool_call.arguments)
        results.append(vapi.ToolResult(tool_call.id, tool_call.name, result=result, error=error))
    if context.changed:
        call.save(update_fields=[*context.changed, "updated_at"])
    return vapi.tool_results(results)


def transfer_destination_request(message: vapi.ServerMessage, number: PhoneNumber) -> dict:
    call = ensure_call(message, number)
    snapshot = assistant.snapshot_for(number)
    transfer = (
        CallTransfer.objects.filter(call=call, status=CallTransfer.Status.INITIATED)
        .order_by("-created_at")
        .first()
    )
    if transfer is None:
        transfer = oncall.start_transfer(
            call,
            call.location or number.location or number.organisation.default_location,
            transfer_number=snapshot.transfer_number,
            mode=snapshot.transfer_mode,
            is_open=snapshot.is_open(timezone.now()),
            reason="The caller asked to be put through",
            urgency=CallTransfer.Urgency.EMERGENCY if call.is_emergency else "normal",
        )
    if transfer is None:
        return vapi.error_response(NOBODY_AVAILABLE)
    transfer.advance(CallTransfer.Status.CONNECTING)
    if call.raise_outcome(Call.Outcome.TRANSFERRED):
        call.save(update_fields=["outcome", "updated_at"])
    language = (call.language or snapshot.default_language)[:2]
    return vapi.transfer_destination_response(
        transfer.destination,
        warm=transfer.mode == "warm",
        briefing=transfer.summary or transfer.reason or "A caller for you.",
        wait_seconds=snapshot.max_transfer_wait,
        spoken=PUT_THROUGH.get(language, PUT_THROUGH["en"]),
    )


def status_update(message: vapi.ServerMessage, number: PhoneNumber) -> dict:
    status, ended_reason = vapi.status_of(message)
    call = ensure_call(message, number)
    if status is None or call.is_final:
        return {}
    moment = message.timestamp or timezone.now()
    call.advance_status(status)
    if status == Call.Status.IN_PROGRESS:
        call.set_times(moment, None)
    elif status == Call.Status.FORWARDING:
        _latest_transfer_to(call, CallTransfer.Status.CONNECTING)
    elif status == Call.Status.ENDED:
        call.ended_reason = call.ended_reason or ended_reason[:128]
        call.set_times(None, call.ended_at or moment)
    call.save()
    return {}


def end_of_call_report(message: vapi.ServerMessage, number: PhoneNumber) -> dict:
    report = vapi.report_of(message)
    call = ensure_call(message, number)
    if call.is_final:
        return {}
    now = timezone.now()
    call.advance_status(Call.Status.ENDED)
    call.started_at = report.started_at or call.started_at
    call.set_times(None, report.ended_at or call.ended_at or now)
    call.cost = report.cost if report.cost is not None else call.cost
    call.ended_reason = (report.ended_reason or call.ended_reason)[:128]
    call.recording_url = report.recording_url[:2000] or call.recording_url
    call.summary = report.summary or call.summary
    call.structured_data = report.structured_data or call.structured_data
    call.success_evaluation = report.success_evaluation or call.success_evaluation
    call.raise_outcome(Call.Outcome.ANSWERED if report.transcript else Call.Outcome.MISSED)
    if report.ended_reason == "assistant-forwarded-call":
        # Vapi only proves it handed the call over; the transferred leg is not reported.
        _latest_transfer_to(call, CallTransfer.Status.COMPLETED)
    if report.transcript:
        TranscriptLine.objects.filter(call=call).delete()
        TranscriptLine.objects.bulk_create(
            TranscriptLine(
                call=call,
                organisation_id=call.organisation_id,
                position=position,
                role=line.role,
                text=line.text,
                spoken_at=line.spoken_at,
                seconds_from_start=line.seconds_from_start,
            )
            for position, line in enumerate(report.transcript)
        )
    if call.customer_id is None and call.customer_phone:
        call.customer = Customer.for_phone(call.customer_phone, when=call.started_at or now)
    call.report_received_at = now
    call.save()
    record_call_usage(
        call_id=str(call.pk), seconds=call.duration_seconds or 0, ended_at=call.ended_at or now
    )
    return {}


def transcript(message: vapi.ServerMessage, number: PhoneNumber) -> dict:
    utterance = vapi.utterance_of(message)
    if utterance is None:
        return {}
    call = ensure_call(message, number)
    if call.is_final:
        return {}
    last = TranscriptLine.objects.filter(call=call).aggregate(last=Max("position"))["last"]
    TranscriptLine.objects.create(
        call=call,
        position=0 if last is None else last + 1,
        role=utterance.role,
        text=utterance.text,
        spoken_at=utterance.spoken_at,
    )
    return {}


def hang(message: vapi.ServerMessage, number: PhoneNumber) -> dict:
    call = ensure_call(message, number)
    if not call.is_final:
        Call.objects.filter(pk=call.pk).update(assistant_delays=F("assistant_delays") + 1)
    return {}


def transfer_update(message: vapi.ServerMessage, number: PhoneNumber) -> dict:
    call = ensure_call(message, number)
    _latest_transfer_to(call, CallTransfer.Status.CONNECTED)
    return {}


def language_change(message: vapi.ServerMessage, number: PhoneNumber) -> dict:
    language = vapi.language_of(message)
    call = ensure_call(message, number)
    if language and not call.is_final:
        call.language = language
        call.save(update_fields=["language", "updated_at"])
    return {}


def _latest_transfer_to(call: Call, status: str) -> None:
    transfer = call.transfers.order_by("-created_at").first()
    if transfer is not None:
        transfer.advance(status)


VAPI_HANDLERS = {
    "assistant-request": assistant_request,
    "tool-calls": tool_calls,
    "transfer-destination-request": transfer_destination_request,
    "status-update": status_update,
    "end-of-call-report": end_of_call_report,
    "transcript": transcript,
    "hang": hang,
    "transfer-update": transfer_update,
    "language-change-detected": language_change,
}


# ---------------------------------------------------------------------------------------------
# Twilio


class MalformedForm(ValueError):
    """A signed Twilio request without the parameters its endpoint always carries."""


REQUIRED_PARAMS = {
    "voice": ("CallSid", "From", "To"),
    "call-status": ("CallSid", "CallStatus"),
    "sms": ("MessageSid", "From", "To"),
    "sms-status": ("MessageSid", "MessageStatus"),
}


def check_form(kind: str, params) -> None:
    missing = [name for name in REQUIRED_PARAMS[kind] if not params.get(name)]
    if missing:
        raise MalformedForm(f"missing {', '.join(missing)}")


def handle_twilio(kind: str, params, number: PhoneNumber | None) -> TwilioAnswer:
    if kind == "voice":
        return twilio_voice(params, number)
    if number is None:
        return TwilioAnswer()
    with tenant_transaction(number.organisation):
        if kind == "call-status":
            twilio_call_status(params)
        elif kind == "sms":
            return twilio_inbound_sms(params, number)
        elif kind == "sms-status":
            event = twilio.message_event(params)
            sms.record_status(event.sid, event.status, event.error_code)
    return TwilioAnswer()


def _twiml(body: str) -> TwilioAnswer:
    return TwilioAnswer(twiml=body)


def twilio_voice(params, number: PhoneNumber | None) -> TwilioAnswer:
    """The Twilio path: a number that stays on the clinic's Twilio account. The call is handed
    to Vapi (which answers with the TwiML connecting it), or forwarded when Vapi fails."""
    request = twilio.voice_request(params)
    if number is None:
        return _twiml(twilio.say_and_hang_up(assistant.NOT_IN_SERVICE))
    with tenant_transaction(number.organisation):
        # Twilio retries a voice webhook whose answer it never got: keep the same call row.
        seen = Call.objects.filter(twilio_call_sid=request.call_sid).first()
        decision = assistant.answer_call(
            number,
            provider=seen.provider if seen else Call.Provider.TWILIO,
            provider_call_id=seen.provider_call_id if seen else request.call_sid,
            caller=request.from_number,
            twilio_call_sid=request.call_sid,
        )
        language = decision.snapshot.default_language
        if decision.action == "refuse":
            blocked = decision.call.outcome == Call.Outcome.BLOCKED
            return _twiml(
                twilio.reject() if blocked else twilio.say_and_hang_up(decision.spoken, language)
            )
        if decision.action == "forward":
            return _twiml(twilio.dial(decision.forward_to, timeout=30))
        assistant_json = render_assistant(decision.config)
    # Outside the transaction: no database work waits on Vapi.
    try:
        created = vapi.create_call(
            assistant=assistant_json,
            phone_number_id=number.vapi_phone_number_id,
            customer_number=request.from_number,
            api_key=settings.VAPI_API_KEY,
            base_url=settings.VAPI_API_URL,
            timeout=settings.VAPI_TIMEOUT_SECONDS,
        )
    except ProviderError as exc:
        logger.warning("Vapi could not take call %s: %s", request.call_sid, exc)
        return _forward_after_failure(number, decision)
    with tenant_transaction(number.organisation):
        if created.id:
            Call.objects.filter(pk=decision.call.pk).update(
                provider=Call.Provider.VAPI, provider_call_id=created.id
            )
    return _twiml(created.twiml)


def _forward_after_failure(number: PhoneNumber, decision: assistant.CallDecision) -> TwilioAnswer:
    snapshot = decision.snapshot
    language = snapshot.default_language
    target = snapshot.fallback_number or snapshot.transfer_number or snapshot.location_phone
    with tenant_transaction(number.organisation):
        call = Call.lock(decision.call.pk)
        call.raise_outcome(Call.Outcome.FORWARDED if target else Call.Outcome.MISSED)
        call.ended_reason = "assistant-unavailable"
        call.save(update_fields=["outcome", "ended_reason", "updated_at"])
        Notification.notify(
            "The assistant could not answer a call",
            body=f"{call.from_number}: "
            + (f"forwarded to {target}." if target else "not answered."),
            level=Notification.Level.WARNING,
        )
    if target:
        spoken = PUT_THROUGH.get(language, PUT_THROUGH["en"])
        return _twiml(
            twilio.dial(
                target, timeout=snapshot.max_transfer_wait, spoken=spoken, language=language
            )
        )
    return _twiml(twilio.say_and_hang_up(assistant.UNAVAILABLE, language))


def twilio_call_status(params) -> None:
    update = twilio.voice_request(params)
    call = (
        Call.objects.select_for_update()
        .filter(twilio_call_sid=update.call_sid)
        .order_by("created_at")
        .first()
    )
    if call is None or call.is_final or update.status is None:
        return
    call.advance_status(update.status)
    now = timezone.now()
    if update.status == Call.Status.IN_PROGRESS:
        call.set_times(now, None)
    if update.status == Call.Status.ENDED:
        call.ended_reason = call.ended_reason or update.ended_reason
        call.set_times(None, call.ended_at or now)
        if call.duration_seconds is None and update.duration is not None:
            call.duration_seconds = update.duration
    call.save()


def twilio_inbound_sms(params, number: PhoneNumber) -> TwilioAnswer:
    event = twilio.message_event(params)
    organisation = number.organisation
    sender = assistant.caller_e164(event.from_number, organisation.country)
    reply = _twiml(twilio.empty_messaging_response())
    if SmsMessage.objects.filter(twilio_sid=event.sid).exists():
        return reply
    acknowledged = oncall.acknowledge_by_sms(sender, event.body) if sender else None
    customer = None if acknowledged or not sender else Customer.for_phone(sender)
    SmsMessage.objects.create(
        direction=SmsMessage.Direction.INBOUND,
        to_number=number.number,
        from_number=(sender or event.from_number)[:32],
        body=event.body,
        status=SmsMessage.Status.RECEIVED,
        twilio_sid=event.sid,
        customer=customer,
        language=customer.preferred_language if customer else organisation.default_language,
    )
    if customer is None:
        return reply
    word = event.body.strip().strip(".!").upper()
    if word in STOP_WORDS:
        customer.set_sms_opt_out(True)
    elif word in START_WORDS:
        customer.set_sms_opt_out(False)
    elif word in HELP_WORDS:
        location = number.location or organisation.default_location
        sms.queue(
            sender,
            sms.render(
                "help",
                customer.preferred_language,
                clinic=organisation.name,
                phone=location.phone or number.number,
            ),
            template_key="help",
            language=customer.preferred_language,
            location=location,
            customer=customer,
        )
    else:
        Notification.notify(
            f"Text from {customer}",
            body=event.body[:500],
            link=reverse("organisations:customer", args=[customer.pk]),
        )
    return reply


# ---------------------------------------------------------------------------------------------
# Replay (admin)


def replay(delivery: WebhookDelivery) -> None:
    """Process a stored delivery again (the admin's replay action). Raises what processing
    raises, after recording it on the delivery."""
    try:
        if delivery.provider == WebhookDelivery.Provider.VAPI:
            message = vapi.parse(delivery.body.encode())
            with platform_transaction():
                number = vapi_number(message)
            handle_vapi(message, number)
        elif delivery.kind in TWILIO_ANSWERED:
            # The caller hung up long ago: a new Vapi call for them would help nobody.
            raise ValueError("A voice webhook answers a live call and cannot be replayed")
        else:
            params = QueryDict(delivery.body)
            with platform_transaction():
                number = twilio_number(delivery.kind, params)
            handle_twilio(delivery.kind, params, number)
    except Exception as exc:
        delivery.mark(error=f"{type(exc).__name__}: {exc}")
        raise
    delivery.mark()
