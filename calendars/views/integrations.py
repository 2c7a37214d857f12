"""Integrations: connecting Google Calendar and Cal.com, their status, and Cal.com's webhook.

Without any connection the built-in calendar is the source of truth and everything works; a
connection adds busy times from the provider and copies our appointments into it.
"""

from dataclasses import replace

from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from calendars import oauth, webhooks
from calendars.forms import (
    CalcomApiKeyForm,
    CalcomOAuthForm,
    ConnectGoogleForm,
    ConnectionSettingsForm,
)
from calendars.models import CalendarConnection, Service
from calendars.providers import NeedsReauth, Tokens, calcom, google
from calendars.tasks import sync_connection
from organisations.models import AuditEvent, Location
from organisations.providers import ProviderError
from organisations.roles import Role, role_required

Provider = CalendarConnection.Provider


def _redirect_uri(name: str) -> str:
    return settings.PUBLIC_BASE_URL + reverse(name)


def google_configured() -> bool:
    return bool(settings.GOOGLE_CLIENT_ID and settings.GOOGLE_CLIENT_SECRET)


def calcom_oauth_configured() -> bool:
    return bool(settings.CALCOM_CLIENT_ID and settings.CALCOM_CLIENT_SECRET)


@role_required(Role.ADMIN)
def integrations(request, *, api_key_form=None, status=200):
    return render(
        request,
        "calendars/integrations.html",
        {
            "connections": CalendarConnection.objects.select_related("location", "service"),
            "google_form": ConnectGoogleForm(),
            "api_key_form": api_key_form or CalcomApiKeyForm(),
            "calcom_oauth_form": CalcomOAuthForm(),
            "google_configured": google_configured(),
            "calcom_oauth_configured": calcom_oauth_configured(),
            "webhook_url": _redirect_uri("calendars:calcom_webhook"),
            "webhook_secret_set": bool(settings.CALCOM_WEBHOOK_SECRET),
        },
        status=status,
    )


def _save_connection(request, location, provider, tokens: Tokens, **fields) -> None:
    connection, created = CalendarConnection.objects.update_or_create(
        location=location,
        provider=provider,
        defaults={
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "token_expires_at": tokens.expires_at,
            "scopes": tokens.scopes,
            "account": tokens.account,
            "status": CalendarConnection.Status.CONNECTED,
            "last_error": "",
            "connected_by": request.user,
            **fields,
        },
    )
    AuditEvent.record(
        request,
        "calendar.connected" if created else "calendar.reconnected",
        connection,
        after={"provider": provider, "location": str(location), "account": tokens.account},
    )
    sync_connection.delay_on_commit(
        organisation_id=str(connection.organisation_id), connection_id=str(connection.pk)
    )
    messages.success(
        request,
        _("%(provider)s is connected for %(location)s.")
        % {"provider": connection.get_provider_display(), "location": location},
    )


def _finish_oauth(request, provider):
    """The checks every OAuth callback starts with; returns (finished, location) or None after
    telling the user why not."""
    if request.GET.get("error"):
        request.session.pop(oauth.SESSION_KEY, None)
        messages.error(request, _("The connection was not allowed, so nothing changed."))
        return None
    try:
        finished = oauth.finish(request, provider, request.GET.get("state", ""))
    except oauth.OAuthStateError as exc:
        messages.error(request, _("%(reason)s Start again from this page.") % {"reason": exc})
        return None
    return finished, get_object_or_404(Location.objects, pk=finished.location_id)


@role_required(Role.ADMIN)
@require_POST
def google_connect(request):
    form = ConnectGoogleForm(request.POST)
    if not google_configured():
        messages.error(request, _("Google sign-in is not set up on this server yet."))
        return redirect("calendars:integrations")
    if not form.is_valid():
        return redirect("calendars:integrations")
    started = oauth.begin(request, Provider.GOOGLE, form.cleaned_data["location"])
    return redirect(
        google.authorization_url(
            state=started.state,
            redirect_uri=_redirect_uri("calendars:google_callback"),
            code_verifier=started.code_verifier,
        )
    )


@role_required(Role.ADMIN)
@require_GET
def google_callback(request):
    result = _finish_oauth(request, Provider.GOOGLE)
    if result is not None:
        finished, location = result
        try:
            tokens = google.exchange_code(
                code=request.GET.get("code", ""),
                state=request.GET["state"],
                code_verifier=finished.code_verifier,
                redirect_uri=_redirect_uri("calendars:google_callback"),
            )
        except ProviderError as exc:
            messages.error(request, str(exc))
        else:
            _save_connection(request, location, Provider.GOOGLE, tokens, calendar_id="primary")
    return redirect("calendars:integrations")


@role_required(Role.ADMIN)
@require_POST
def calcom_connect(request):
    """Connect Cal.com with an API key (kept encrypted like a token, with no expiry)."""
    form = CalcomApiKeyForm(request.POST)
    if not form.is_valid():
        return integrations(request, api_key_form=form, status=400)
    api_key = form.cleaned_data["api_key"].strip()
    try:
        account = calcom.account_for(api_key)
    except NeedsReauth:
        form.add_error("api_key", _("Cal.com did not accept this API key."))
        return integrations(request, api_key_form=form, status=400)
    except ProviderError as exc:
        form.add_error(None, str(exc))
        return integrations(request, api_key_form=form, status=400)
    _save_connection(
        request,
        form.cleaned_data["location"],
        Provider.CALCOM,
        Tokens(access_token=api_key, expires_at=None, account=account),
        auth_method=CalendarConnection.AuthMethod.API_KEY,
        event_type_id=form.cleaned_data["event_type_id"],
        service=form.cleaned_data["service"],
    )
    return redirect("calendars:integrations")


@role_required(Role.ADMIN)
@require_POST
def calcom_oauth_connect(request):
    form = CalcomOAuthForm(request.POST)
    if not calcom_oauth_configured():
        messages.error(request, _("Cal.com sign-in is not set up on this server; use an API key."))
        return redirect("calendars:integrations")
    if not form.is_valid():
        return redirect("calendars:integrations")
    started = oauth.begin(
        request,
        Provider.CALCOM,
        form.cleaned_data["location"],
        event_type_id=form.cleaned_data["event_type_id"],
        service_id=str(form.cleaned_data["service"].pk),
    )
    return redirect(
        calcom.authorization_url(
            state=started.state, redirect_uri=_redirect_uri("calendars:calcom_callback")
        )
    )


@role_required(Role.ADMIN)
@require_GET
def calcom_callback(request):
    result = _finish_oauth(request, Provider.CALCOM)
    if result is not None:
        finished, location = result
        try:
            tokens = calcom.exchange_code(
                code=request.GET.get("code", ""),
                redirect_uri=_redirect_uri("calendars:calcom_callback"),
            )
            account = calcom.account_for(tokens.access_token)
        except ProviderError as exc:
            messages.error(request, str(exc))
        else:
            _save_connection(
                request,
                location,
                Provider.CALCOM,
                replace(tokens, account=account),
                auth_method=CalendarConnection.AuthMethod.OAUTH,
                event_type_id=finished.extra.get("event_type_id", ""),
                service=Service.objects.filter(pk=finished.extra.get("service_id")).first(),
            )
    return redirect("calendars:integrations")


@role_required(Role.ADMIN)
def connection_edit(request, connection_id):
    connection = get_object_or_404(CalendarConnection.objects, pk=connection_id)
    form = ConnectionSettingsForm(request.POST or None, instance=connection)
    if request.method == "POST" and form.is_valid():
        form.save()
        AuditEvent.record(
            request,
            "calendar.settings_changed",
            connection,
            after={name: str(form.cleaned_data[name]) for name in form.changed_data},
        )
        sync_connection.delay_on_commit(
            organisation_id=str(connection.organisation_id), connection_id=str(connection.pk)
        )
        messages.success(request, _("Settings saved."))
        return redirect("calendars:integrations")
    return render(
        request, "calendars/connection_form.html", {"form": form, "connection": connection}
    )


@role_required(Role.ADMIN)
@require_POST
def connection_sync(request, connection_id):
    connection = get_object_or_404(CalendarConnection.objects, pk=connection_id)
    sync_connection.delay_on_commit(
        organisation_id=str(connection.organisation_id), connection_id=str(connection.pk)
    )
    messages.info(request, _("Busy times are being updated."))
    return redirect("calendars:integrations")


@role_required(Role.ADMIN)
@require_POST
def connection_disconnect(request, connection_id):
    connection = get_object_or_404(CalendarConnection.objects, pk=connection_id)
    AuditEvent.record(
        request,
        "calendar.disconnected",
        connection,
        before={"provider": connection.provider, "location": str(connection.location)},
    )
    connection.delete()
    messages.success(
        request,
        _("%(provider)s disconnected. Its busy times no longer count.")
        % {"provider": connection.get_provider_display()},
    )
    return redirect("calendars:integrations")


@csrf_exempt
@require_POST
def calcom_webhook(request):
    try:
        status, reason = webhooks.receive(request)
    except webhooks.Rejected as rejected:
        return JsonResponse({"error": str(rejected)}, status=rejected.status)
    return JsonResponse({"status": reason}, status=status)
