"""Twilio: webhook signatures and form parameters in, TwiML out, SMS through the official SDK.

The only module that knows Twilio's forms, TwiML and error codes. Parameters follow Twilio's
documented voice request, call status callback, inbound message and message status callback
forms; signatures are checked with the SDK's own `RequestValidator`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from organisations.providers import PermanentProviderError, TransientProviderError

PROVIDER = "twilio"
SIGNATURE_HEADER = "X-Twilio-Signature"
# "Attempt to send to unsubscribed recipient": the person texted STOP. No retry will help.
OPTED_OUT_CODE = 21610
RATE_LIMITED_CODE = 20429
SAY_LANGUAGES = {"en": "en-US", "es": "es-ES", "ru": "ru-RU"}
# Twilio call statuses → ours (telephony.models.Call.Status values).
CALL_STATUSES = {
    "queued": "queued",
    "initiated": "queued",
    "ringing": "ringing",
    "in-progress": "in_progress",
    "answered": "in_progress",
    "completed": "ended",
    "busy": "ended",
    "failed": "ended",
    "no-answer": "ended",
    "canceled": "ended",
}
# Twilio message statuses → ours (telephony.models.SmsMessage.Status values).
SMS_STATUSES = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
    "receiving": "received",
    "received": "received",
}


def is_valid_signature(url: str, params, signature: str, auth_token: str) -> bool:
    """Twilio's own check: HMAC-SHA1 of the public URL and the sorted POST parameters."""
    if not auth_token or not signature:
        return False
    return RequestValidator(auth_token).validate(url, params, signature)


# ---------------------------------------------------------------------------------------------
# Webhook forms in


@dataclass(frozen=True)
class VoiceRequest:
    call_sid: str
    from_number: str
    to_number: str
    status: str | None
    ended_reason: str
    duration: int | None


def voice_request(params: Mapping[str, str]) -> VoiceRequest:
    """A voice webhook or call status callback (same parameters; the callback adds the
    duration)."""
    status = params.get("CallStatus", "")
    duration = params.get("CallDuration", "")
    return VoiceRequest(
        call_sid=params.get("CallSid", ""),
        from_number=params.get("From", ""),
        to_number=params.get("To", ""),
        status=CALL_STATUSES.get(status),
        ended_reason=f"twilio-{status}" if CALL_STATUSES.get(status) == "ended" else "",
        duration=int(duration) if duration.isdigit() else None,
    )


@dataclass(frozen=True)
class MessageEvent:
    sid: str
    from_number: str
    to_number: str
    body: str
    status: str | None
    error_code: str


def message_event(params: Mapping[str, str]) -> MessageEvent:
    """An inbound message or a message status callback."""
    return MessageEvent(
        sid=params.get("MessageSid", "") or params.get("SmsSid", ""),
        from_number=params.get("From", ""),
        to_number=params.get("To", ""),
        body=params.get("Body", ""),
        status=SMS_STATUSES.get(params.get("MessageStatus", "") or params.get("SmsStatus", "")),
        error_code=params.get("ErrorCode", ""),
    )


def event_id(kind: str, params: Mapping[str, str]) -> str:
    """What makes a Twilio delivery a duplicate, per endpoint."""
    if kind in ("voice", "call-status"):
        sequence = params.get("SequenceNumber", "")
        return f"{kind}:{params.get('CallSid', '')}:{params.get('CallStatus', '')}:{sequence}"
    if kind == "sms":
        return f"sms:{params.get('MessageSid', '')}"
    return f"{kind}:{params.get('MessageSid', '')}:{params.get('MessageStatus', '')}"


# ---------------------------------------------------------------------------------------------
# TwiML out


def say_and_hang_up(text: str, language: str = "en") -> str:
    response = VoiceResponse()
    response.say(text, language=SAY_LANGUAGES.get(language, "en-US"))
    response.hangup()
    return str(response)


def dial(number: str, *, timeout: int, spoken: str = "", language: str = "en") -> str:
    response = VoiceResponse()
    if spoken:
        response.say(spoken, language=SAY_LANGUAGES.get(language, "en-US"))
    response.dial(number, timeout=timeout)
    return str(response)


def reject() -> str:
    response = VoiceResponse()
    response.reject()
    return str(response)


def empty_messaging_response() -> str:
    """Acknowledges an inbound text without replying (replies go out through our SMS queue)."""
    return str(MessagingResponse())


# ---------------------------------------------------------------------------------------------
# REST: sending texts


class MessageRefused(PermanentProviderError):
    """Twilio refused the message for good; `code` is Twilio's error code."""

    def __init__(self, message: str, *, code: int | None, status: int | None):
        super().__init__(message, provider=PROVIDER, status=status)
        self.code = code

    @property
    def opted_out(self) -> bool:
        return self.code == OPTED_OUT_CODE


@dataclass(frozen=True)
class SentMessage:
    sid: str
    status: str  # ours (SmsMessage.Status values)


def send_sms(
    *,
    account_sid: str,
    auth_token: str,
    to: str,
    from_number: str,
    body: str,
    status_callback: str,
    timeout: float,
) -> SentMessage:
    if not (account_sid and auth_token):
        raise PermanentProviderError("No Twilio account is configured", provider=PROVIDER)
    if not from_number:
        raise PermanentProviderError("No SMS-capable number to send from", provider=PROVIDER)
    client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout))
    try:
        message = client.messages.create(
            to=to, from_=from_number, body=body, status_callback=status_callback
        )
    except TwilioRestException as exc:
        if exc.status == 429 or exc.status >= 500 or exc.code == RATE_LIMITED_CODE:
            raise TransientProviderError(exc.msg, provider=PROVIDER, status=exc.status) from exc
        raise MessageRefused(exc.msg, code=exc.code, status=exc.status) from exc
    except (requests.RequestException, TwilioException) as exc:
        raise TransientProviderError(f"Twilio unreachable: {exc}", provider=PROVIDER) from exc
    return SentMessage(sid=message.sid, status=SMS_STATUSES.get(message.status, "sent"))
