"""Vapi: server messages in, assistant/tool/transfer answers out, and `POST /call`.

The only module that knows Vapi's JSON. Shapes follow Vapi's OpenAPI (`ServerMessage*`,
`CreateAssistantDTO`, `ToolCall`, `Artifact`, `Analysis`) and docs.vapi.ai; fields that moved
between API versions (transcript, summary and recording at the top level of older
end-of-call reports) are read from both places.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

import requests

from organisations.providers import PermanentProviderError, TransientProviderError

if TYPE_CHECKING:
    from telephony.assistant import AssistantConfig

PROVIDER = "vapi"
SECRET_HEADER = "X-Vapi-Secret"
# Vapi's HMAC credential defaults (HMACAuthenticationPlan): hex HMAC-SHA256 of
# "{timestamp}.{body}" in x-signature, the timestamp in x-timestamp. x-vapi-signature is what
# some guides configure instead.
SIGNATURE_HEADERS = ("X-Signature", "X-Vapi-Signature")
TIMESTAMP_HEADERS = ("X-Timestamp", "X-Vapi-Timestamp")
SERVER_MESSAGES = [
    "status-update",
    "end-of-call-report",
    "hang",
    'transcript[transcriptType="final"]',
    "tool-calls",
    "transfer-destination-request",
    "transfer-update",
    "language-change-detected",
]
# Vapi call statuses → ours (telephony.models.Call.Status values).
CALL_STATUSES = {
    "scheduled": "queued",
    "queued": "queued",
    "ringing": "ringing",
    "in-progress": "in_progress",
    "forwarding": "forwarding",
    "ended": "ended",
}
CALL_DIRECTIONS = {
    "inboundPhoneCall": "inbound",
    "outboundPhoneCall": "outbound",
    "webCall": "web",
    "vapi.websocketCall": "web",
}
TRANSCRIPT_ROLES = {"user": "caller", "bot": "assistant", "assistant": "assistant"}


class MalformedMessage(ValueError):
    """The body is not a Vapi server message."""


# ---------------------------------------------------------------------------------------------
# Authentication


def _header(headers: Mapping[str, str], names) -> str:
    for name in names:
        value = headers.get(name)
        if value:
            return value
    return ""


def is_authentic(
    headers: Mapping[str, str], body: bytes, secret: str, *, tolerance: int, now=None
) -> bool:
    """Whether a delivery carries our secret (X-Vapi-Secret or a bearer credential) or a valid
    HMAC of its body. Constant-time comparisons; no secret configured means nothing passes."""
    if not secret:
        return False
    expected = secret.encode()
    shared = headers.get(SECRET_HEADER, "")
    if shared and hmac.compare_digest(shared.encode(), expected):
        return True
    authorization = headers.get("Authorization", "")
    if authorization.startswith("Bearer ") and hmac.compare_digest(
        authorization.removeprefix("Bearer ").strip().encode(), expected
    ):
        return True
    signature = _header(headers, SIGNATURE_HEADERS).strip().removeprefix("sha256=").lower()
    if not signature:
        return False
    timestamp = _header(headers, TIMESTAMP_HEADERS).strip()
    if timestamp:
        if not _is_fresh(timestamp, tolerance, now):
            return False
        payload = timestamp.encode() + b"." + body
    else:
        payload = body
    digest = hmac.new(expected, payload, hashlib.sha256).hexdigest()
    return hmac.compare_digest(digest.encode(), signature.encode())


def _is_fresh(timestamp: str, tolerance: int, now=None) -> bool:
    try:
        value = float(timestamp)
    except ValueError:
        return False
    seconds = value / 1000 if value > 1e11 else value  # milliseconds or seconds
    return abs((now if now is not None else time.time()) - seconds) <= tolerance


def signed_headers(body: bytes, secret: str, *, timestamp: int | None = None) -> dict[str, str]:
    """Headers of a delivery signed the way Vapi's HMAC credential signs it (for the call
    simulator and tests)."""
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Signature": digest, "X-Timestamp": stamp}


# ---------------------------------------------------------------------------------------------
# Server messages in


@dataclass(frozen=True)
class ServerMessage:
    type: str
    call_id: str
    direction: str
    twilio_call_sid: str
    caller_number: str
    our_number: str
    vapi_phone_number_id: str
    metadata: dict
    timestamp: datetime | None
    body: dict = field(repr=False)
    digest: str = field(repr=False)

    @property
    def event_id(self) -> str:
        """What makes a delivery a duplicate: (call, message type) plus what distinguishes
        repeated messages of one type within a call."""
        call = self.call_id or "no-call"
        if self.type in ("assistant-request", "end-of-call-report"):
            return f"{call}:{self.type}"
        if self.type == "status-update":
            return f"{call}:{self.type}:{self.body.get('status', '')}"
        if self.type == "tool-calls":
            ids = ",".join(call.id for call in tool_calls(self))
            return f"{call}:{self.type}:{ids}"[:255]
        stamp = self.body.get("timestamp")
        return f"{call}:{self.type}:{stamp if stamp is not None else self.digest[:32]}"


def parse(body: bytes) -> ServerMessage:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedMessage("body is not JSON") from exc
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise MalformedMessage('expected {"message": {"type": ...}}')
    call = _dict(message.get("call"))
    customer = _dict(message.get("customer")) or _dict(call.get("customer"))
    phone_number = _dict(message.get("phoneNumber")) or _dict(call.get("phoneNumber"))
    assistant = _dict(message.get("assistant")) or _dict(call.get("assistant"))
    return ServerMessage(
        type=message["type"],
        call_id=str(call.get("id") or ""),
        direction=CALL_DIRECTIONS.get(call.get("type", ""), "inbound"),
        twilio_call_sid=str(call.get("phoneCallProviderId") or ""),
        caller_number=str(customer.get("number") or ""),
        our_number=str(phone_number.get("number") or ""),
        vapi_phone_number_id=str(call.get("phoneNumberId") or phone_number.get("id") or ""),
        metadata=_dict(assistant.get("metadata")),
        timestamp=_time(message.get("timestamp")),
        body=message,
        digest=hashlib.sha256(body).hexdigest(),
    )


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _time(value) -> datetime | None:
    """Vapi times: ISO-8601 strings, or epoch milliseconds (message timestamps)."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: dict | None  # None: the model sent arguments that are not a JSON object


def tool_calls(message: ServerMessage) -> list[ToolCall]:
    """The tool calls of a `tool-calls` message, in order. `arguments` may be an object or a
    JSON string (the schema says string, the docs' examples show objects; older payloads say
    `parameters`)."""
    items = message.body.get("toolCallList")
    if not isinstance(items, list):
        items = [
            _dict(entry).get("toolCall") for entry in message.body.get("toolWithToolCallList") or []
        ]
    calls = []
    for item in items:
        item = _dict(item)
        function = _dict(item.get("function"))
        arguments = function.get("arguments", function.get("parameters", {}))
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except ValueError:
                arguments = None
        calls.append(
            ToolCall(
                id=str(item.get("id") or ""),
                name=str(function.get("name") or ""),
                arguments=arguments if isinstance(arguments, dict) else None,
            )
        )
    return calls


def status_of(message: ServerMessage) -> tuple[str | None, str]:
    """(our call status or None when unknown, ended reason) of a status-update."""
    return CALL_STATUSES.get(message.body.get("status", "")), str(
        message.body.get("endedReason") or ""
    )


@dataclass(frozen=True)
class Utterance:
    role: str  # telephony.models.TranscriptLine.Role values
    text: str
    spoken_at: datetime | None
    seconds_from_start: float | None


@dataclass(frozen=True)
class CallReport:
    started_at: datetime | None
    ended_at: datetime | None
    cost: Decimal | None
    ended_reason: str
    recording_url: str
    summary: str
    structured_data: dict
    success_evaluation: str
    transcript: list[Utterance]


def report_of(message: ServerMessage) -> CallReport:
    """The end-of-call report, reading artifact/analysis (current schema) and the older
    top-level fields."""
    body = message.body
    call = _dict(body.get("call"))
    artifact = _dict(body.get("artifact"))
    analysis = _dict(body.get("analysis"))
    mono = _dict(_dict(artifact.get("recording")).get("mono"))
    recording_url = (
        artifact.get("recordingUrl") or mono.get("combinedUrl") or body.get("recordingUrl") or ""
    )
    transcript = [
        Utterance(
            role=TRANSCRIPT_ROLES[entry["role"]],
            text=str(entry.get("message") or "").strip(),
            spoken_at=_time(entry.get("time")),
            seconds_from_start=_number(entry.get("secondsFromStart")),
        )
        for entry in map(_dict, artifact.get("messages") or body.get("messages") or [])
        if entry.get("role") in TRANSCRIPT_ROLES and str(entry.get("message") or "").strip()
    ]
    cost = body.get("cost", call.get("cost"))
    try:
        cost = Decimal(str(cost)).quantize(Decimal("0.0001")) if cost is not None else None
    except InvalidOperation:
        cost = None
    success = analysis.get("successEvaluation")
    return CallReport(
        started_at=_time(body.get("startedAt") or call.get("startedAt")),
        ended_at=_time(body.get("endedAt") or call.get("endedAt")),
        cost=cost,
        ended_reason=str(body.get("endedReason") or call.get("endedReason") or ""),
        recording_url=str(recording_url),
        summary=str(analysis.get("summary") or body.get("summary") or ""),
        structured_data=_dict(analysis.get("structuredData")),
        success_evaluation="" if success is None else str(success)[:64],
        transcript=transcript,
    )


def utterance_of(message: ServerMessage) -> Utterance | None:
    """A final live transcript line (`transcript` messages); partial ones are ignored."""
    body = message.body
    if body.get("transcriptType", "final") != "final" or body.get("role") not in TRANSCRIPT_ROLES:
        return None
    text = str(body.get("transcript") or "").strip()
    if not text:
        return None
    return Utterance(TRANSCRIPT_ROLES[body["role"]], text, message.timestamp, None)


def language_of(message: ServerMessage) -> str:
    return str(message.body.get("language") or "")[:8]


def _number(value) -> float | None:
    return float(value) if isinstance(value, int | float) else None


# ---------------------------------------------------------------------------------------------
# Answers out


def assistant_json(config: AssistantConfig, *, server_url: str, secret: str, credential_id: str):
    """The transient assistant (CreateAssistantDTO) for `config`."""
    server: dict = {"url": server_url, "timeoutSeconds": 20}
    if credential_id:
        server["credentialId"] = credential_id
    elif secret:
        server["headers"] = {SECRET_HEADER: secret}
    tools = [
        {
            "type": "function",
            "async": False,
            "function": {
                "name": tool.name,
                "description": tool.description,
                "parameters": tool.parameters,
            },
        }
        for tool in config.tools
    ]
    if config.transfers_enabled:
        # No destinations: Vapi asks us with transfer-destination-request, so the on-call rota
        # decides at the moment of the transfer.
        tools.append({"type": "transferCall"})
    tools.append({"type": "endCall"})
    voice = {"provider": config.voice_provider, "voiceId": config.voice_id}
    if config.voice_model:
        voice["model"] = config.voice_model
    return {
        "name": config.name[:40],
        "firstMessage": config.first_message,
        "firstMessageMode": "assistant-speaks-first",
        "model": {
            "provider": config.model_provider,
            "model": config.model,
            "temperature": 0.3,
            "messages": [{"role": "system", "content": config.system_prompt}],
            "tools": tools,
        },
        "voice": voice,
        "transcriber": {
            "provider": config.transcriber_provider,
            "model": config.transcriber_model,
            "language": config.transcriber_language,
        },
        "server": server,
        "serverMessages": SERVER_MESSAGES,
        "metadata": config.metadata,
        "maxDurationSeconds": config.max_duration_seconds,
        "artifactPlan": {"recordingEnabled": config.recording_enabled},
        "endCallMessage": config.goodbye,
    }


def assistant_response(assistant: dict) -> dict:
    return {"assistant": assistant}


def error_response(spoken: str) -> dict:
    """Vapi speaks `spoken` to the caller and ends the call."""
    return {"error": spoken}


def forward_response(number: str, *, spoken: str = "") -> dict:
    """Forward the call to `number` at once, with no assistant."""
    destination = {"type": "number", "number": number}
    if spoken:
        destination["message"] = spoken
    return {"destination": destination}


def transfer_destination_response(
    number: str, *, warm: bool, briefing: str, wait_seconds: int, spoken: str
) -> dict:
    plan = (
        {
            "mode": "warm-transfer-wait-for-operator-to-speak-first-and-then-say-message",
            "message": briefing,
            "timeout": max(1, min(wait_seconds, 600)),
        }
        if warm
        else {"mode": "blind-transfer"}
    )
    return {
        "destination": {
            "type": "number",
            "number": number,
            "message": spoken,
            "transferPlan": plan,
        },
        "message": {"type": "request-start", "message": spoken},
    }


@dataclass(frozen=True)
class ToolResult:
    tool_call_id: str
    name: str
    result: str = ""
    error: str = ""


def one_line(text: str) -> str:
    """Vapi requires single-line result strings (line breaks break its parsing)."""
    return " ".join(str(text).split())


def tool_results(results: list[ToolResult]) -> dict:
    answers = []
    for result in results:
        answer = {"name": result.name, "toolCallId": result.tool_call_id}
        if result.error:
            answer["error"] = one_line(result.error)
        else:
            answer["result"] = one_line(result.result)
        answers.append(answer)
    return {"results": answers}


# ---------------------------------------------------------------------------------------------
# REST: POST /call (the Twilio path)


@dataclass(frozen=True)
class CreatedCall:
    id: str
    twiml: str


def create_call(
    *,
    assistant: dict,
    phone_number_id: str,
    customer_number: str,
    api_key: str,
    base_url: str,
    timeout: float,
) -> CreatedCall:
    """Hand a call that reached our Twilio webhook to Vapi (phone-call-provider bypass): Vapi
    creates the call and returns the TwiML that connects Twilio's leg to it."""
    if not api_key:
        raise PermanentProviderError("VAPI_API_KEY is not set", provider=PROVIDER)
    payload = {
        "phoneCallProviderBypassEnabled": True,
        "customer": {"number": customer_number},
        "assistant": assistant,
    }
    if phone_number_id:
        payload["phoneNumberId"] = phone_number_id
    try:
        response = requests.post(
            f"{base_url}/call",
            json=payload,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise TransientProviderError(f"Vapi unreachable: {exc}", provider=PROVIDER) from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise TransientProviderError(
            f"Vapi answered {response.status_code}", provider=PROVIDER, status=response.status_code
        )
    if response.status_code >= 400:
        raise PermanentProviderError(
            f"Vapi refused the call: {response.status_code} {response.text[:300]}",
            provider=PROVIDER,
            status=response.status_code,
        )
    try:
        data = response.json()
    except ValueError as exc:
        raise TransientProviderError("Vapi answered with no JSON", provider=PROVIDER) from exc
    twiml = _dict(data.get("phoneCallProviderDetails")).get("twiml")
    if not twiml:
        raise PermanentProviderError("Vapi returned no TwiML for the call", provider=PROVIDER)
    return CreatedCall(id=str(data.get("id") or ""), twiml=str(twiml))


# ---------------------------------------------------------------------------------------------
# Simulated server messages (manage.py simulate_call drives our own webhook with these)


def simulated_message(
    message_type: str,
    *,
    call_id: str,
    number: str,
    number_id: str,
    caller: str,
    metadata: dict | None = None,
    **fields,
) -> dict:
    """A server message as Vapi sends it for an inbound phone call."""
    message = {
        "type": message_type,
        "timestamp": int(time.time() * 1000),
        "call": {
            "id": call_id,
            "type": "inboundPhoneCall",
            "phoneNumberId": number_id,
            "phoneCallProvider": "twilio",
            "customer": {"number": caller},
        },
        "phoneNumber": {"id": number_id, "number": number},
        "customer": {"number": caller},
        **fields,
    }
    if metadata:
        message["assistant"] = {"metadata": metadata}
    return {"message": message}


def simulated_tool_calls(calls: list[tuple[str, str, dict]], **common) -> dict:
    """A tool-calls message; `calls` are (tool call id, function name, arguments)."""
    tool_call_list = [
        {
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(args)},
        }
        for call_id, name, args in calls
    ]
    return simulated_message(
        "tool-calls",
        toolCallList=tool_call_list,
        toolWithToolCallList=[
            {"type": "function", "function": {"name": c["function"]["name"]}, "toolCall": c}
            for c in tool_call_list
        ],
        **common,
    )


def simulated_report(
    *,
    started: datetime,
    ended: datetime,
    lines: list[tuple[str, str, float]],
    summary: str,
    **common,
) -> dict:
    """An end-of-call report; `lines` are (role: "assistant" | "caller", text, seconds from
    start)."""
    roles = {"assistant": "bot", "caller": "user"}
    messages = [
        {
            "role": roles[role],
            "message": text,
            "time": int((started.timestamp() + offset) * 1000),
            "endTime": int((started.timestamp() + offset + 2) * 1000),
            "secondsFromStart": offset,
        }
        for role, text, offset in lines
    ]
    return simulated_message(
        "end-of-call-report",
        endedReason="customer-ended-call",
        startedAt=started.isoformat(),
        endedAt=ended.isoformat(),
        cost=0,
        artifact={
            "messages": messages,
            "transcript": "\n".join(f"{role}: {text}" for role, text, _ in lines),
        },
        analysis={"summary": summary, "successEvaluation": "true"},
        **common,
    )
