"""Google Calendar: OAuth with google-auth-oauthlib, then free/busy and events over REST.

API calls go through google-auth's `AuthorizedSession` (a requests.Session that adds the bearer
token) rather than google-api-python-client's discovery client: that client runs on httplib2,
which is not thread-safe and which `responses` cannot intercept, whereas this way every Google
call, the token endpoint included, uses one transport that the tests mock with the documented
payloads. The REST resources used are few and stable (freeBusy, events insert/patch/delete).

Facts relied on (docs/calendars.md has the sources): google-auth wants a naive UTC `expiry`;
`invalid_grant` on refresh means the grant is gone (reconnect, never retry); 403 with a rate-limit
reason and 429 mean back off; an event inserted with our own id answers 409 when it exists.
"""

from __future__ import annotations

from datetime import UTC, datetime

import google.auth.exceptions
import google.auth.transport.requests
import requests
from django.conf import settings
from google.auth import jwt
from google.auth.transport.requests import AuthorizedSession
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import Flow
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from calendars.providers import (
    DEFAULT_TIMEOUT,
    NeedsReauth,
    RateLimited,
    Tokens,
    json_or_empty,
    retry_after_seconds,
    send,
)
from organisations.providers import PermanentProviderError, TransientProviderError

PROVIDER = "google"
AUTH_URI = "https://accounts.google.com/o/oauth2/auth"
TOKEN_URI = "https://oauth2.googleapis.com/token"
API = "https://www.googleapis.com/calendar/v3"
EVENTS_SCOPE = "https://www.googleapis.com/auth/calendar.events"
FREEBUSY_SCOPE = "https://www.googleapis.com/auth/calendar.freebusy"
# Full scope URLs, so the token response's scope string matches what was asked for exactly.
SCOPES = [
    "openid",
    "https://www.googleapis.com/auth/userinfo.email",
    EVENTS_SCOPE,
    FREEBUSY_SCOPE,
]
RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}
APPOINTMENT_PROPERTY = "frontdesk_appointment_id"


# ---------------------------------------------------------------------------------------------
# OAuth


def _flow(redirect_uri: str, **kwargs) -> Flow:
    config = {
        "web": {
            "client_id": settings.GOOGLE_CLIENT_ID,
            "client_secret": settings.GOOGLE_CLIENT_SECRET,
            "auth_uri": AUTH_URI,
            "token_uri": TOKEN_URI,
            "redirect_uris": [redirect_uri],
        }
    }
    return Flow.from_client_config(config, scopes=SCOPES, redirect_uri=redirect_uri, **kwargs)


def authorization_url(*, state: str, redirect_uri: str, code_verifier: str) -> str:
    """Google's consent page, with the PKCE challenge of `code_verifier` (which the callback
    must send back). Offline access with `prompt=consent`, so a refresh token comes every time."""
    flow = _flow(redirect_uri, code_verifier=code_verifier)
    url, _ = flow.authorization_url(state=state, access_type="offline", prompt="consent")
    return url


def exchange_code(*, code: str, state: str, code_verifier: str, redirect_uri: str) -> Tokens:
    """Trade the callback's code for tokens; raises PermanentProviderError when Google refuses
    or the user did not grant calendar access."""
    flow = _flow(redirect_uri, state=state, code_verifier=code_verifier)
    try:
        flow.fetch_token(code=code)
    except Warning as exc:
        # oauthlib raises Warning when the granted scopes differ from those requested: with
        # granular consent the user may have unticked calendar access.
        raise PermanentProviderError(
            "Google did not grant access to the calendar. Connect again and tick every box.",
            provider=PROVIDER,
        ) from exc
    except OAuth2Error as exc:
        raise PermanentProviderError(
            f"Google refused the sign-in: {exc.error}", provider=PROVIDER
        ) from exc
    except requests.RequestException as exc:
        raise TransientProviderError(
            "Google could not be reached; try again.", provider=PROVIDER
        ) from exc
    credentials = flow.credentials
    if not credentials.refresh_token:
        raise PermanentProviderError(
            "Google returned no refresh token; remove Frontdesk's access in your Google "
            "account settings and connect again.",
            provider=PROVIDER,
        )
    return Tokens(
        access_token=credentials.token,
        refresh_token=credentials.refresh_token,
        expires_at=_aware(credentials.expiry),
        scopes=" ".join(credentials.scopes or SCOPES),
        account=_email_from_id_token(credentials.id_token),
    )


def _email_from_id_token(id_token: str | None) -> str:
    if not id_token:
        return ""
    # Received straight from Google's token endpoint over TLS, so its signature need not be
    # checked again (OpenID Connect Core 3.1.3.7); it only labels the connection.
    claims = jwt.decode(id_token, verify=False)
    return claims.get("email", "")


def _aware(expiry: datetime | None) -> datetime | None:
    return expiry.replace(tzinfo=UTC) if expiry else None


def _credentials(connection) -> Credentials:
    expiry = connection.token_expires_at
    return Credentials(
        token=connection.access_token,
        refresh_token=connection.refresh_token,
        token_uri=TOKEN_URI,
        client_id=settings.GOOGLE_CLIENT_ID,
        client_secret=settings.GOOGLE_CLIENT_SECRET,
        scopes=connection.scopes.split() or SCOPES,
        # google-auth compares expiry with a naive UTC "now".
        expiry=expiry.astimezone(UTC).replace(tzinfo=None) if expiry else None,
    )


def refresh(connection) -> Tokens:
    """New access token from the refresh token. `invalid_grant` raises NeedsReauth."""
    credentials = _credentials(connection)
    try:
        credentials.refresh(google.auth.transport.requests.Request())
    except google.auth.exceptions.RefreshError as exc:
        if "invalid_grant" in str(exc):
            raise NeedsReauth(
                "Google access was revoked or has expired: reconnect Google Calendar.",
                provider=PROVIDER,
                status=400,
            ) from exc
        error = TransientProviderError if getattr(exc, "retryable", False) else NeedsReauth
        raise error(f"Google token refresh failed: {exc}", provider=PROVIDER) from exc
    except google.auth.exceptions.TransportError as exc:
        raise TransientProviderError(
            "Google token endpoint unreachable", provider=PROVIDER
        ) from exc
    return Tokens(
        access_token=credentials.token,
        refresh_token=credentials.refresh_token or "",
        expires_at=_aware(credentials.expiry),
    )


# ---------------------------------------------------------------------------------------------
# Calendar API


def _session(connection) -> AuthorizedSession:
    """A session with a valid token; a refreshed token is stored on the connection."""
    credentials = _credentials(connection)
    if not credentials.valid:
        tokens = refresh(connection)
        connection.store_tokens(
            access_token=tokens.access_token,
            expires_at=tokens.expires_at,
            refresh_token=tokens.refresh_token,
        )
        credentials = _credentials(connection)
    # Refreshing is ours to do (and to persist), not the session's on a 401.
    return AuthorizedSession(credentials, refresh_status_codes=())


def _call(connection, method: str, path: str, *, timeout=DEFAULT_TIMEOUT, **kwargs):
    response = send(
        _session(connection),
        method,
        f"{API}{path}",
        provider=PROVIDER,
        timeout=timeout,
        **kwargs,
    )
    if response.status_code in (401, 403):
        _raise_for_auth(response)
    return response


def _raise_for_auth(response: requests.Response) -> None:
    error = json_or_empty(response).get("error", {})
    reasons = {item.get("reason") for item in error.get("errors", []) if isinstance(item, dict)}
    message = error.get("message") or response.reason
    if response.status_code == 403 and reasons & RATE_LIMIT_REASONS:
        raise RateLimited(
            f"Google: {message}",
            provider=PROVIDER,
            status=403,
            retry_after=retry_after_seconds(response),
        )
    if response.status_code == 401:
        raise NeedsReauth(f"Google: {message}", provider=PROVIDER, status=401)
    raise PermanentProviderError(f"Google: {message}", provider=PROVIDER, status=403)


def _fail(response: requests.Response, doing: str):
    message = json_or_empty(response).get("error", {}).get("message") or response.reason
    raise PermanentProviderError(
        f"Google {doing} failed: {message}", provider=PROVIDER, status=response.status_code
    )


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def busy_intervals(connection, start: datetime, end: datetime, *, timeout=DEFAULT_TIMEOUT):
    calendar_id = connection.calendar_id or "primary"
    response = _call(
        connection,
        "POST",
        "/freeBusy",
        timeout=timeout,
        json={"timeMin": _rfc3339(start), "timeMax": _rfc3339(end), "items": [{"id": calendar_id}]},
    )
    if response.status_code != 200:
        _fail(response, "free/busy")
    calendar = json_or_empty(response).get("calendars", {}).get(calendar_id, {})
    errors = [error.get("reason", "") for error in calendar.get("errors", [])]
    if errors:
        # Per-calendar errors come inside a 200; only backend ones are worth retrying.
        retryable = set(errors) <= {"internalError", "backendError"}
        error = TransientProviderError if retryable else PermanentProviderError
        raise error(f"Google free/busy: {', '.join(errors)}", provider=PROVIDER)
    return [
        (datetime.fromisoformat(busy["start"]), datetime.fromisoformat(busy["end"]))
        for busy in calendar.get("busy", [])
    ]


def event_id(appointment) -> str:
    """Our id for the appointment's event: hex is within Google's base32hex alphabet and unique."""
    return appointment.id.hex


def _event_body(appointment) -> dict:
    zone = appointment.location.timezone
    details = [f"Phone: {appointment.phone}" if appointment.phone else "", appointment.notes]
    return {
        "summary": f"{appointment.service.name}: {appointment.display_name}",
        "description": "\n".join(filter(None, [*details, "Booked with Frontdesk."])),
        "start": {"dateTime": _rfc3339(appointment.start_at), "timeZone": zone},
        "end": {"dateTime": _rfc3339(appointment.end_at), "timeZone": zone},
        "extendedProperties": {"private": {APPOINTMENT_PROPERTY: str(appointment.id)}},
    }


def upsert(connection, appointment, external_id: str) -> str:
    calendar = requests.utils.quote(connection.calendar_id or "primary", safe="")
    body = _event_body(appointment)
    target = external_id or event_id(appointment)
    if not external_id:
        response = _call(
            connection, "POST", f"/calendars/{calendar}/events", json={"id": target, **body}
        )
        if response.status_code in (200, 201):
            return target
        if response.status_code != 409:  # 409: a retry of an insert that already succeeded
            _fail(response, "event insert")
    response = _call(connection, "PATCH", f"/calendars/{calendar}/events/{target}", json=body)
    if response.status_code in (404, 410) and external_id:
        # Deleted in Google by hand: put it back under our own id.
        return upsert(connection, appointment, "")
    if response.status_code != 200:
        _fail(response, "event update")
    return target


def remove(connection, external_id: str, *, reason: str = "") -> None:
    if not external_id:
        return
    calendar = requests.utils.quote(connection.calendar_id or "primary", safe="")
    response = _call(connection, "DELETE", f"/calendars/{calendar}/events/{external_id}")
    if response.status_code not in (200, 204, 404, 410):
        _fail(response, "event delete")
