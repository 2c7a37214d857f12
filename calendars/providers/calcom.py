"""Cal.com API v2: API key or OAuth, slots, bookings, and webhook payloads.

Every v2 call sends the `cal-api-version` its endpoint is documented with; without it Cal.com
silently answers with an older version. Booking times are sent in UTC. Cal.com has no
idempotency key for creating bookings: a booking is tagged with our appointment id in `metadata`,
so the BOOKING_CREATED webhook of a create whose answer was lost links it to the appointment
before a retry would run (calendars.webhooks).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import requests
from django.conf import settings

from calendars.availability import merge, subtract
from calendars.providers import (
    DEFAULT_TIMEOUT,
    NeedsReauth,
    Tokens,
    json_or_empty,
    send,
)
from organisations.providers import PermanentProviderError

PROVIDER = "calcom"
API = "https://api.cal.com/v2"
AUTHORIZE_URL = "https://app.cal.com/auth/oauth2/authorize"
TOKEN_URL = f"{API}/auth/oauth2/token"
SLOTS_VERSION = "2024-09-04"
BOOKINGS_VERSION = "2024-08-13"
SIGNATURE_HEADER = "X-Cal-Signature-256"
APPOINTMENT_METADATA = "frontdesk_appointment_id"
# Cal.com requires an attendee email; callers often give none. `.invalid` never resolves.
PLACEHOLDER_EMAIL_DOMAIN = "no-email.invalid"
REFRESH_MARGIN = timedelta(minutes=2)


# ---------------------------------------------------------------------------------------------
# Connecting


def authorization_url(*, state: str, redirect_uri: str) -> str:
    query = {
        "client_id": settings.CALCOM_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "state": state,
    }
    return f"{AUTHORIZE_URL}?{urlencode(query)}"


def exchange_code(*, code: str, redirect_uri: str) -> Tokens:
    return _token_request(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    )


def refresh(connection) -> Tokens | None:
    if connection.auth_method == connection.AuthMethod.API_KEY:
        return None
    grant = {"grant_type": "refresh_token", "refresh_token": connection.refresh_token}
    return _token_request(grant)


def _token_request(grant: dict) -> Tokens:
    body = {
        **grant,
        "client_id": settings.CALCOM_CLIENT_ID,
        "client_secret": settings.CALCOM_CLIENT_SECRET,
    }
    response = send(
        requests, "POST", TOKEN_URL, provider=PROVIDER, data=body, timeout=DEFAULT_TIMEOUT
    )
    data = json_or_empty(response)
    if response.status_code != 200:
        error = data.get("error", "")
        if error == "invalid_grant" or response.status_code == 401:
            raise NeedsReauth(
                "Cal.com access was revoked or has expired: reconnect Cal.com.",
                provider=PROVIDER,
                status=response.status_code,
            )
        raise PermanentProviderError(
            f"Cal.com refused the token request: {error or response.status_code}",
            provider=PROVIDER,
            status=response.status_code,
        )
    expires_in = data.get("expires_in")
    return Tokens(
        access_token=data["access_token"],
        refresh_token=data.get("refresh_token", ""),
        expires_at=datetime.now(UTC) + timedelta(seconds=expires_in) if expires_in else None,
        scopes=data.get("scope", ""),
    )


def account_for(access_token: str) -> str:
    """Who the key or token belongs to (its email); raises NeedsReauth for a bad one."""
    response = send(
        requests,
        "GET",
        f"{API}/me",
        provider=PROVIDER,
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=DEFAULT_TIMEOUT,
    )
    _raise_for_status(response, "checking the account")
    data = json_or_empty(response).get("data", {})
    return data.get("email") or data.get("username") or ""


# ---------------------------------------------------------------------------------------------
# API calls


def _access_token(connection) -> str:
    expires = connection.token_expires_at
    if connection.refresh_token and expires and expires - REFRESH_MARGIN <= datetime.now(UTC):
        tokens = refresh(connection)
        connection.store_tokens(
            access_token=tokens.access_token,
            expires_at=tokens.expires_at,
            refresh_token=tokens.refresh_token,
        )
    return connection.access_token


def _call(connection, method: str, path: str, *, version: str, timeout=DEFAULT_TIMEOUT, **kw):
    headers = {
        "Authorization": f"Bearer {_access_token(connection)}",
        "cal-api-version": version,
    }
    return send(
        requests, method, f"{API}{path}", provider=PROVIDER, headers=headers, timeout=timeout, **kw
    )


def _raise_for_status(response: requests.Response, doing: str) -> None:
    if response.status_code < 400:
        return
    error = json_or_empty(response).get("error", {})
    message = error.get("message") if isinstance(error, dict) else str(error)
    message = f"Cal.com {doing} failed: {message or response.reason}"
    if response.status_code == 401:
        raise NeedsReauth(message, provider=PROVIDER, status=401)
    raise PermanentProviderError(message, provider=PROVIDER, status=response.status_code)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def busy_intervals(connection, start: datetime, end: datetime, *, timeout=DEFAULT_TIMEOUT):
    """Cal.com tells free slots, not busy time: everything in [start, end) that no slot of the
    event type covers is busy (a gap shorter than the event type counts as busy too)."""
    response = _call(
        connection,
        "GET",
        "/slots",
        version=SLOTS_VERSION,
        timeout=timeout,
        params={
            "eventTypeId": connection.event_type_id,
            "start": _utc(start),
            "end": _utc(end),
            "timeZone": "UTC",
            "format": "range",
        },
    )
    _raise_for_status(response, "reading free slots")
    days = json_or_empty(response).get("data", {})
    try:
        free = [
            (datetime.fromisoformat(slot["start"]), datetime.fromisoformat(slot["end"]))
            for slots in days.values()
            for slot in slots
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentProviderError("Cal.com slots: unexpected answer", provider=PROVIDER) from exc
    return subtract([(start, end)], merge(free))


def _booking(connection, uid: str) -> dict | None:
    response = _call(connection, "GET", f"/bookings/{uid}", version=BOOKINGS_VERSION)
    if response.status_code == 404:
        return None
    _raise_for_status(response, "reading a booking")
    return json_or_empty(response).get("data") or None


def _attendee(appointment) -> dict:
    attendee = {
        "name": appointment.display_name or "Caller",
        "email": appointment.email or f"{appointment.id.hex}@{PLACEHOLDER_EMAIL_DOMAIN}",
        "timeZone": appointment.location.timezone,
        "language": appointment.language,
    }
    if appointment.phone:
        attendee["phoneNumber"] = appointment.phone
    return attendee


def upsert(connection, appointment, external_id: str) -> str:
    booking = _booking(connection, external_id) if external_id else None
    if booking and booking.get("status") != "cancelled":
        if datetime.fromisoformat(booking["start"]) == appointment.start_at:
            return external_id
        response = _call(
            connection,
            "POST",
            f"/bookings/{external_id}/reschedule",
            version=BOOKINGS_VERSION,
            json={"start": _utc(appointment.start_at), "reschedulingReason": "Moved in Frontdesk"},
        )
        _raise_for_status(response, "rescheduling a booking")
        return json_or_empty(response)["data"]["uid"]
    response = _call(
        connection,
        "POST",
        "/bookings",
        version=BOOKINGS_VERSION,
        json={
            "start": _utc(appointment.start_at),
            "eventTypeId": int(connection.event_type_id),
            "attendee": _attendee(appointment),
            "metadata": {APPOINTMENT_METADATA: str(appointment.id)},
        },
    )
    _raise_for_status(response, "creating a booking")
    return json_or_empty(response)["data"]["uid"]


def remove(connection, external_id: str, *, reason: str = "") -> None:
    if not external_id:
        return
    booking = _booking(connection, external_id)
    if booking is None or booking.get("status") == "cancelled":
        return
    response = _call(
        connection,
        "POST",
        f"/bookings/{external_id}/cancel",
        version=BOOKINGS_VERSION,
        json={"cancellationReason": reason or "Cancelled in Frontdesk"},
    )
    _raise_for_status(response, "cancelling a booking")


# ---------------------------------------------------------------------------------------------
# Webhooks


def signature_is_valid(body: bytes, signature: str, secret: str) -> bool:
    """`X-Cal-Signature-256` is the hex HMAC-SHA256 of the raw body with the webhook secret.
    Cal.com sends "no-secret-provided" when the webhook has no secret: never accepted."""
    if not secret or not signature or signature == "no-secret-provided":
        return False
    expected = hmac.new(secret.strip().encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


@dataclass(frozen=True)
class BookingEvent:
    """The parts of a Cal.com booking webhook that we mirror."""

    trigger: str
    uid: str
    previous_uid: str  # the booking a reschedule replaced
    event_type_id: str
    appointment_id: str  # our id, when the booking was made by Frontdesk
    start: datetime | None
    end: datetime | None
    name: str
    email: str
    phone: str
    status: str
    cancellation_reason: str


def parse_webhook(body: bytes) -> BookingEvent:
    """Read a delivery; raises ValueError for a body that is not a Cal.com webhook."""
    data = json.loads(body)
    if not isinstance(data, dict) or not isinstance(data.get("triggerEvent"), str):
        raise ValueError("not a Cal.com webhook: no triggerEvent")
    payload = data.get("payload")
    if not isinstance(payload, dict):
        raise ValueError("not a Cal.com webhook: no payload")
    attendees = payload.get("attendees") or [{}]
    attendee = attendees[0] if isinstance(attendees[0], dict) else {}
    metadata = payload.get("metadata") if isinstance(payload.get("metadata"), dict) else {}
    start, end = payload.get("startTime"), payload.get("endTime")
    email = attendee.get("email", "")
    return BookingEvent(
        trigger=data["triggerEvent"],
        uid=str(payload.get("uid") or ""),
        previous_uid=str(payload.get("rescheduleUid") or ""),
        event_type_id=str(payload.get("eventTypeId") or ""),
        appointment_id=str(metadata.get(APPOINTMENT_METADATA) or ""),
        start=datetime.fromisoformat(start) if start else None,
        end=datetime.fromisoformat(end) if end else None,
        name=attendee.get("name", ""),
        email="" if email.endswith(PLACEHOLDER_EMAIL_DOMAIN) else email,
        phone=attendee.get("phoneNumber") or payload.get("smsReminderNumber") or "",
        status=str(payload.get("status") or "").lower(),
        cancellation_reason=payload.get("cancellationReason") or "",
    )
