"""Provider webhooks (ARCHITECTURE §4): authenticate, store raw, process, answer.

A delivery that fails authentication gets 403 and writes nothing but a log line. One that passes
is stored raw first (so nothing is lost and the admin can replay it), then processed; a repeated
informational delivery (same provider event id, already processed) is acknowledged without
processing it again. Malformed bodies get 400, unknown message types 2xx, and errors while
processing never become a 500 the provider would see: Vapi ignores non-200 tool answers and the
caller must never be dropped, so a failure is recorded on the delivery and answered with the
safest reply (forward the call, or an error string the assistant can say).
"""

import logging

from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from organisations.tenancy import platform_transaction
from telephony import assistant, events
from telephony.models import WebhookDelivery
from telephony.providers import twilio, vapi

logger = logging.getLogger(__name__)
# Never stored with the raw delivery: they carry our secrets.
SECRET_HEADERS = {"authorization", "x-vapi-secret", "cookie"}


def _headers(request) -> dict:
    return {k: v for k, v in request.headers.items() if k.lower() not in SECRET_HEADERS}


@csrf_exempt
@require_POST
def vapi_webhook(request):
    body = request.body
    if not vapi.is_authentic(
        request.headers,
        body,
        settings.VAPI_WEBHOOK_SECRET,
        tolerance=settings.VAPI_WEBHOOK_TOLERANCE_SECONDS,
    ):
        logger.warning("Vapi webhook refused: bad or missing credential from %s", _client(request))
        return HttpResponseForbidden()
    try:
        message = vapi.parse(body)
    except vapi.MalformedMessage as exc:
        return HttpResponseBadRequest(str(exc))
    with platform_transaction():
        number = events.vapi_number(message)
        delivery, first = events.store(
            provider=WebhookDelivery.Provider.VAPI,
            kind=message.type,
            event_id=message.event_id,
            headers=_headers(request),
            body=body.decode(),
            number=number,
        )
    if not first and delivery.processed_at and message.type not in events.VAPI_ANSWERED:
        return JsonResponse({"duplicate": True})
    try:
        answer = events.handle_vapi(message, number)
    except Exception as exc:
        logger.exception("Vapi %s delivery %s failed", message.type, delivery.pk)
        delivery.mark(error=f"{type(exc).__name__}: {exc}")
        return JsonResponse(events.vapi_failure_answer(message, number))
    delivery.mark()
    return JsonResponse(answer)


def _twilio_webhook(request, kind: str):
    body = request.body.decode()  # read first: the form below is parsed from it
    params = request.POST
    with platform_transaction():
        number = events.twilio_number(kind, params)
        token = events.twilio_token(number)
    url = settings.PUBLIC_BASE_URL + request.get_full_path()
    signature = request.headers.get(twilio.SIGNATURE_HEADER, "")
    if not twilio.is_valid_signature(url, params, signature, token):
        logger.warning("Twilio %s webhook refused: bad signature from %s", kind, _client(request))
        return HttpResponseForbidden()
    try:
        events.check_form(kind, params)
    except events.MalformedForm as exc:
        return HttpResponseBadRequest(str(exc))
    with platform_transaction():
        delivery, first = events.store(
            provider=WebhookDelivery.Provider.TWILIO,
            kind=kind,
            event_id=twilio.event_id(kind, params),
            headers=_headers(request),
            body=body,
            number=number,
        )
    if not first and delivery.processed_at and kind not in events.TWILIO_ANSWERED:
        return HttpResponse(status=204)
    try:
        answer = events.handle_twilio(kind, params, number)
    except Exception as exc:
        logger.exception("Twilio %s delivery %s failed", kind, delivery.pk)
        delivery.mark(error=f"{type(exc).__name__}: {exc}")
        if kind == "voice":
            fallback = number.fallback_number if number else ""
            twiml = (
                twilio.dial(fallback, timeout=30)
                if fallback
                else twilio.say_and_hang_up(assistant.UNAVAILABLE)
            )
            return HttpResponse(twiml, content_type="text/xml")
        return HttpResponse(status=204)
    delivery.mark()
    if not answer.twiml:
        return HttpResponse(status=204)
    return HttpResponse(answer.twiml, content_type="text/xml")


def _client(request) -> str:
    return request.META.get("REMOTE_ADDR", "?")


@csrf_exempt
@require_POST
def twilio_voice(request):
    return _twilio_webhook(request, "voice")


@csrf_exempt
@require_POST
def twilio_call_status(request):
    return _twilio_webhook(request, "call-status")


@csrf_exempt
@require_POST
def twilio_sms(request):
    return _twilio_webhook(request, "sms")


@csrf_exempt
@require_POST
def twilio_sms_status(request):
    return _twilio_webhook(request, "sms-status")
