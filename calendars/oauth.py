"""The OAuth `state` of a calendar connection, bound to who started it.

`begin()` signs the provider, organisation, user, location and a one-time nonce into `state`, and
keeps the nonce, the PKCE code verifier and any extra settings in the session. `finish()` accepts
the callback only if the signature is valid and recent, the provider, organisation and user are
the same as at the start, and the nonce is the one in the session. The session entry is removed
on first use, so a replayed callback URL is refused.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.core import signing

SESSION_KEY = "calendars_oauth"
SALT = "calendars.oauth.state"
MAX_AGE = 15 * 60  # seconds the user has to finish consenting


class OAuthStateError(Exception):
    """The callback does not belong to a connection this user started here (forged, tampered,
    expired or replayed)."""


@dataclass(frozen=True)
class Started:
    state: str
    code_verifier: str


@dataclass(frozen=True)
class Finished:
    location_id: str
    code_verifier: str
    extra: dict


def _claims(request, provider: str) -> dict:
    return {
        "provider": provider,
        "organisation": str(request.organisation.pk),
        "user": str(request.user.pk),
    }


def begin(request, provider: str, location, **extra) -> Started:
    nonce = secrets.token_urlsafe(24)
    code_verifier = secrets.token_urlsafe(64)  # 86 characters from RFC 7636's alphabet
    state = signing.dumps(
        {**_claims(request, provider), "location": str(location.pk), "nonce": nonce}, salt=SALT
    )
    request.session[SESSION_KEY] = {
        "provider": provider,
        "nonce": nonce,
        "code_verifier": code_verifier,
        "extra": extra,
    }
    return Started(state=state, code_verifier=code_verifier)


def finish(request, provider: str, state: str) -> Finished:
    pending = request.session.pop(SESSION_KEY, None)
    try:
        data = signing.loads(state or "", salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature as exc:  # SignatureExpired is a BadSignature
        raise OAuthStateError("The connection request is invalid or has expired.") from exc
    expected = _claims(request, provider)
    if any(data.get(key) != value for key, value in expected.items()):
        raise OAuthStateError("The connection was started by someone else or elsewhere.")
    if not pending or pending.get("provider") != provider or pending["nonce"] != data["nonce"]:
        raise OAuthStateError("This connection link was already used or was not started here.")
    return Finished(
        location_id=data["location"],
        code_verifier=pending["code_verifier"],
        extra=pending.get("extra", {}),
    )
