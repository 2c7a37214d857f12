"""Provider payloads in the providers' documented shapes, and requests signed their way.

Vapi: `ServerMessage*` schemas of Vapi's OpenAPI (envelope `{"message": {...}}`, `call`,
`phoneNumber`, `customer`, `assistant`, `toolCallList`/`toolWithToolCallList`, `artifact`,
`analysis`). Twilio: the documented form parameters of the voice request, call status callback,
inbound message and message status callback, signed with twilio's own RequestValidator.
"""

import json
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from twilio.request_validator import RequestValidator

from telephony.providers import vapi

CALLER = "+447911123456"
ACCOUNT_SID = "AC" + "0" * 32


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def vapi_message(
    message_type: str,
    *,
    number,
    call_id: str = "0b6a3f1e-6c7d-4a55-9c1e-000000000001",
    caller: str = CALLER,
    metadata: dict | None = None,
    **fields,
) -> dict:
    """A server message about a call to `number` (a PhoneNumber)."""
    call = {
        "id": call_id,
        "orgId": "2f0b5c9e-1111-4222-8333-444455556666",
        "type": "inboundPhoneCall",
        "status": "ringing",
        "phoneNumberId": number.vapi_phone_number_id,
        "phoneCallProvider": "twilio",
        "phoneCallProviderId": "CA" + call_id.replace("-", "")[:32],
        "phoneCallTransport": "pstn",
        "customer": {"number": caller},
        "createdAt": "2026-05-12T09:00:00.000Z",
    }
    message = {
        "type": message_type,
        "timestamp": _ms(datetime.now(UTC)),
        "call": call,
        "phoneNumber": {
            "id": number.vapi_phone_number_id,
            "provider": "twilio",
            "number": number.number,
            "twilioAccountSid": ACCOUNT_SID,
        },
        "customer": {"number": caller},
        **fields,
    }
    if metadata is not None:
        message["assistant"] = {"name": "Reception", "metadata": metadata}
    return {"message": message}


def metadata_for(number, call=None) -> dict:
    """What our transient assistant carries (echoed back by Vapi in `message.assistant`)."""
    return {
        "organisation_id": str(number.organisation_id),
        "location_id": str(number.location_id),
        "phone_number_id": str(number.pk),
        "call_id": str(call.pk) if call else "",
    }


def tool_calls(number, calls, *, string_arguments: bool = True, **kwargs) -> dict:
    """`calls`: (tool call id, function name, arguments dict)."""
    tool_call_list = [
        {
            "id": call_id,
            "type": "function",
            "function": {
                "name": name,
                "arguments": json.dumps(arguments) if string_arguments else arguments,
            },
        }
        for call_id, name, arguments in calls
    ]
    return vapi_message(
        "tool-calls",
        number=number,
        toolCallList=tool_call_list,
        toolWithToolCallList=[
            {
                "type": "function",
                "function": {"name": item["function"]["name"], "parameters": {"type": "object"}},
                "toolCall": item,
            }
            for item in tool_call_list
        ],
        **kwargs,
    )


def end_of_call_report(number, *, started: datetime, seconds: int = 95, **kwargs) -> dict:
    ended = started + timedelta(seconds=seconds)
    lines = [
        ("system", "You are the receptionist.", 0),
        ("bot", "Hello, thank you for calling Bright Smile Dental. How can I help?", 0.4),
        ("user", "Hi, I'd like a check-up tomorrow morning please.", 4.2),
        ("bot", "Tomorrow at 10:00 is free. Shall I book it?", 9.8),
        ("user", "Yes please, it's Jane Doe.", 14.1),
        ("bot", "You're booked. Goodbye!", 20.5),
    ]
    messages = [
        {
            "role": role,
            "message": text,
            "time": _ms(started + timedelta(seconds=offset)),
            "endTime": _ms(started + timedelta(seconds=offset + 2)),
            "secondsFromStart": offset,
            "duration": 2000,
        }
        for role, text, offset in lines
    ]
    return vapi_message(
        "end-of-call-report",
        number=number,
        endedReason="customer-ended-call",
        startedAt=started.isoformat().replace("+00:00", "Z"),
        endedAt=ended.isoformat().replace("+00:00", "Z"),
        cost=0.1234,
        costs=[{"type": "model", "cost": 0.05}],
        artifact={
            "messages": messages,
            "transcript": "\n".join(f"{r}: {t}" for r, t, _o in lines[1:]),
            "recordingUrl": "https://storage.vapi.ai/recordings/abc-mono.wav",
        },
        analysis={
            "summary": "Jane Doe booked a check-up for tomorrow at 10:00.",
            "structuredData": {"intent": "booking"},
            "successEvaluation": "true",
        },
        **kwargs,
    )


def post_vapi(client, payload, *, auth: str = "secret", secret: str | None = None):
    """POST a server message as Vapi would, authenticated by `auth`: "secret"
    (X-Vapi-Secret), "bearer", "hmac" (HMAC-SHA256 of timestamp.body), or "none"."""
    secret = settings.VAPI_WEBHOOK_SECRET if secret is None else secret
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {}
    if auth == "secret":
        headers["HTTP_X_VAPI_SECRET"] = secret
    elif auth == "bearer":
        headers["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    elif auth == "hmac":
        signed = vapi.signed_headers(body, secret, timestamp=int(time.time()))
        headers.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in signed.items()})
    return client.post("/webhooks/vapi/", body, content_type="application/json", **headers)


# ---------------------------------------------------------------------------------------------
# Twilio


def voice_params(number, *, call_sid: str = "CA" + "1" * 32, caller: str = CALLER) -> dict:
    return {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "CallStatus": "ringing",
        "Called": number,
        "CalledCountry": "GB",
        "Caller": caller,
        "CallerCountry": "GB",
        "Direction": "inbound",
        "From": caller,
        "FromCountry": "GB",
        "To": number,
        "ToCountry": "GB",
    }


def call_status_params(number, *, call_sid: str, status: str, duration: int | None = None):
    params = {**voice_params(number, call_sid=call_sid), "CallStatus": status}
    params.update({"CallbackSource": "call-progress-events", "SequenceNumber": "2"})
    if duration is not None:
        params["CallDuration"] = str(duration)
    return params


def inbound_sms_params(*, to: str, sender: str = CALLER, body: str, sid: str = "SM" + "2" * 32):
    return {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "Body": body,
        "From": sender,
        "FromCountry": "GB",
        "MessageSid": sid,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "SmsStatus": "received",
        "To": to,
        "ToCountry": "GB",
    }


def sms_status_params(*, sid: str, status: str, sender: str, to: str = CALLER, error: str = ""):
    params = {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "From": sender,
        "MessageSid": sid,
        "MessageStatus": status,
        "SmsSid": sid,
        "SmsStatus": status,
        "To": to,
    }
    if error:
        params["ErrorCode"] = error
    return params


def post_twilio(client, path: str, params: dict, *, token: str | None = None, signature=None):
    """POST a form as Twilio would, signed over the public URL with the auth token."""
    token = settings.TWILIO_AUTH_TOKEN if token is None else token
    url = settings.PUBLIC_BASE_URL + path
    if signature is None:
        signature = RequestValidator(token).compute_signature(url, params)
    extra = {"HTTP_X_TWILIO_SIGNATURE": signature} if signature else {}
    return client.post(
        path, urlencode(params), content_type="application/x-www-form-urlencoded", **extra
    )


def vapi_created_call(call_id: str = "7d2c1e9a-0000-4000-8000-00000000beef") -> dict:
    """Vapi's answer to POST /call with phoneCallProviderBypassEnabled."""
    return {
        "id": call_id,
        "orgId": "2f0b5c9e-1111-4222-8333-444455556666",
        "type": "inboundPhoneCall",
        "status": "queued",
        "phoneCallProvider": "twilio",
        "phoneCallProviderBypassEnabled": True,
        "phoneCallProviderDetails": {
            "twiml": (
                '<?xml version="1.0" encoding="UTF-8"?><Response><Connect>'
                '<Stream url="wss://phone-call-websocket.aws-us-west-2-backend-production1.vapi.ai'
                f'/{call_id}/transport"/></Connect></Response>'
            )
        },
        "createdAt": "2026-05-12T09:00:00.000Z",
    }


def twilio_message_resource(sid: str = "SM" + "3" * 32, status: str = "queued") -> dict:
    """Twilio's answer to POST /2010-04-01/Accounts/{sid}/Messages.json."""
    return {
        "account_sid": ACCOUNT_SID,
        "api_version": "2010-04-01",
        "body": "…",
        "date_created": "Tue, 12 May 2026 09:00:00 +0000",
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": "+442079460100",
        "num_segments": "1",
        "sid": sid,
        "status": status,
        "to": CALLER,
        "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
    }


def twilio_messages_url(account_sid: str = ACCOUNT_SID) -> str:
    return f"https://api.twilio.com/2010-04-01/Accounts/{account_sid}/Messages.json"
