"""External calendar providers, one module each (google, calcom), with the same few functions:

* `busy_intervals(connection, start, end, *, timeout) -> list[(start, end)]`: time taken in the
  external calendar between two aware datetimes, as aware UTC datetimes;
* `upsert(connection, appointment, external_id) -> str`: create or update the appointment's
  event/booking (idempotent), returning its id in the provider;
* `remove(connection, external_id, *, reason) -> None`: delete/cancel it (gone already is fine);
* `refresh(connection) -> Tokens | None`: new tokens, or None when there is nothing to refresh
  (an API key).

They raise `organisations.providers` errors: `TransientProviderError` (retry with backoff;
`RateLimited` carries the provider's Retry-After), `PermanentProviderError` (show the clinic), and
its subclass `NeedsReauth` when only reconnecting can help (revoked or expired grant, bad key).
Only these modules know the providers' URLs and JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import requests

from organisations.providers import PermanentProviderError, TransientProviderError

DEFAULT_TIMEOUT = 10  # seconds; background work
RECHECK_TIMEOUT = 3  # seconds; a caller is waiting for the booking


class NeedsReauth(PermanentProviderError):
    """The grant or key no longer works: the clinic must reconnect."""


class RateLimited(TransientProviderError):
    """The provider asked us to slow down; `retry_after` is its hint in seconds, if any."""

    def __init__(self, message: str, *, provider: str, status: int, retry_after: int | None):
        super().__init__(message, provider=provider, status=status)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Tokens:
    access_token: str
    expires_at: datetime | None
    refresh_token: str = ""
    scopes: str = ""
    account: str = ""


def send(session, method: str, url: str, *, provider: str, **kwargs) -> requests.Response:
    """Make an HTTP call, turning transport failures, 429 and 5xx into transient errors.
    Other responses are returned for the provider module to read."""
    try:
        response = session.request(method, url, **kwargs)
    except requests.RequestException as exc:
        raise TransientProviderError(
            f"{provider}: {type(exc).__name__} calling {url}", provider=provider
        ) from exc
    if response.status_code == 429:
        raise RateLimited(
            f"{provider}: rate limited",
            provider=provider,
            status=429,
            retry_after=retry_after_seconds(response),
        )
    if response.status_code >= 500:
        raise TransientProviderError(
            f"{provider}: server error {response.status_code}",
            provider=provider,
            status=response.status_code,
        )
    return response


def retry_after_seconds(response: requests.Response) -> int | None:
    value = response.headers.get("Retry-After", "")
    return int(value) if value.isdigit() else None


def json_or_empty(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
