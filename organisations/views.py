from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Q
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from organisations import limits
from organisations.csv_export import csv_response
from organisations.customer_data import erase_customer, export_customer
from organisations.emails import send_invitation_email
from organisations.forms import (
    AcceptInvitationSignupForm,
    ApiKeyForm,
    CustomerForm,
    InvitationForm,
    LocationForm,
    NewOrganisationForm,
    OrganisationForm,
    ProfileForm,
    RoleForm,
    SignupForm,
)
from organisations.middleware import ACTIVE_ORGANISATION_SESSION_KEY
from organisations.models import (
    ApiKey,
    AuditEvent,
    Customer,
    Invitation,
    InvitationError,
    LastOwnerError,
    Location,
    Membership,
    Notification,
    Organisation,
    User,
    client_ip,
)
from organisations.pagination import paginate
from organisations.panels import render_panels
from organisations.roles import ROLE_HELP, Role, role_required
from organisations.tenancy import platform_transaction, tenant_transaction

# ---------------------------------------------------------------------------------------------
# Signing up, organisations, switching


def _start_session(request, user, organisation) -> None:
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[ACTIVE_ORGANISATION_SESSION_KEY] = str(organisation.pk)


@never_cache
def signup(request):
    if request.user.is_authenticated:
        return redirect("organisations:home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with transaction.atomic():
            user = User.objects.create_user(
                data["email"], data["password1"], full_name=data["full_name"]
            )
            organisation = Organisation.create_with_owner(
                name=data["organisation_name"],
                owner=user,
                industry=data["industry"],
                country=data["country"],
                timezone_name=data["timezone"],
            )
        _start_session(request, user, organisation)
        messages.success(request, _("Welcome to Frontdesk, %(name)s.") % {"name": user})
        return redirect("organisations:home")
    return render(request, "registration/signup.html", {"form": form})


@login_required
def create_organisation(request):
    form = NewOrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        organisation = Organisation.create_with_owner(
            name=data["organisation_name"],
            owner=request.user,
            industry=data["industry"],
            country=data["country"],
            timezone_name=data["timezone"],
        )
        request.session[ACTIVE_ORGANISATION_SESSION_KEY] = str(organisation.pk)
        messages.success(request, _("%(name)s is ready.") % {"name": organisation})
        return redirect("organisations:home")
    return render(request, "organisations/create.html", {"form": form})


@login_required
@require_POST
def switch_organisation(request, organisation_id):
    membership = next(
        (m for m in request.memberships if m.organisation_id == organisation_id), None
    )
    if membership is None:
        return render(request, "404.html", status=404)
    request.session[ACTIVE_ORGANISATION_SESSION_KEY] = str(organisation_id)
    messages.info(request, _("Now working in %(name)s.") % {"name": membership.organisation})
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = ""
    return redirect(target or "organisations:home")


# ---------------------------------------------------------------------------------------------
# Invitations (the accepting side: visitors hold only the token)


@never_cache
def invitation(request, token):
    with platform_transaction():
        found = Invitation.find_by_token(token)
    if found is None:
        return render(request, "organisations/invitation_invalid.html", status=404)
    error = None
    try:
        found.check_usable_by()
    except InvitationError as exc:
        error = exc.messages[0]
    if error:
        return render(
            request, "organisations/invitation_invalid.html", {"error": error}, status=410
        )

    user = request.user if request.user.is_authenticated else None
    existing_account = User.objects.filter(email__iexact=found.email).exists()
    signup_form = None
    if user is None and not existing_account:
        signup_form = AcceptInvitationSignupForm(
            request.POST if request.POST.get("action") == "signup" else None
        )

    if request.method == "POST":
        action = request.POST.get("action")
        with tenant_transaction(found.organisation):
            try:
                if action == "decline":
                    found.decline()
                    messages.info(request, _("You declined the invitation."))
                    return redirect("login" if user is None else "organisations:home")
                if action == "accept" and user is not None:
                    found.accept(user)
                elif action == "signup" and signup_form is not None and signup_form.is_valid():
                    user = User.objects.create_user(
                        found.email,
                        signup_form.cleaned_data["password1"],
                        full_name=signup_form.cleaned_data["full_name"],
                    )
                    found.accept(user)
                else:
                    user = None
            except InvitationError as exc:
                return render(
                    request,
                    "organisations/invitation_invalid.html",
                    {"error": exc.messages[0]},
                    status=410,
                )
        if user is not None:
            _start_session(request, user, found.organisation)
            messages.success(request, _("You joined %(name)s.") % {"name": found.organisation})
            return redirect("organisations:home")

    wrong_email = user is not None and user.email.lower() != found.email.lower()
    return render(
        request,
        "organisations/invitation.html",
        {
            "invitation": found,
            "signup_form": signup_form,
            "existing_account": existing_account,
            "wrong_email": wrong_email,
        },
    )


# ---------------------------------------------------------------------------------------------
# Dashboard


@role_required(Role.VIEWER)
def home(request):
    context = {
        "location_count": Location.objects.count(),
        "member_count": Membership.objects.count(),
        "customer_count": Customer.objects.count(),
        "recent_customers": Customer.objects.order_by("-created_at")[:5],
        "notifications": Notification.for_user(request.user).filter(read_at__isnull=True)[:5],
    }
    return render(request, "organisations/home.html", context)


def _team_page(request, form, status=200):
    return render(
        request,
        "organisations/team.html",
        {
            "memberships": Membership.objects.select_related("user").order_by("user__email"),
            "invitations": Invitation.objects.filter(status=Invitation.Status.PENDING),
            "form": form,
            "roles": [(value, label, ROLE_HELP[value]) for value, label in Role.choices],
            "can_manage": request.membership.allows(Role.ADMIN),
        },
        status=status,
    )


@role_required(Role.VIEWER)
def team(request):
    return _team_page(request, InvitationForm(inviter=request.membership))


def _send_invitation(request, invitation: Invitation) -> None:
    token = invitation.issue_token()
    invitation.save()
    transaction.on_commit(
        lambda: send_invitation_email(invitation, token, request.user), robust=True
    )


@role_required(Role.ADMIN)
@require_POST
def invite(request):
    form = InvitationForm(request.POST, inviter=request.membership)
    if not form.is_valid():
        return _team_page(request, form, status=400)
    refusal = limits.refusal("member", request.organisation)
    if refusal:
        messages.error(request, refusal)
        return redirect("organisations:team")
    invitation = Invitation(
        email=form.cleaned_data["email"], role=form.cleaned_data["role"], invited_by=request.user
    )
    _send_invitation(request, invitation)
    AuditEvent.record(
        request,
        "invitation.sent",
        invitation,
        after={"email": invitation.email, "role": invitation.role},
    )
    messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
    return redirect("organisations:team")


@role_required(Role.ADMIN)
@require_POST
def invitation_resend(request, invitation_id):
    invitation = get_object_or_404(
        Invitation.objects, pk=invitation_id, status=Invitation.Status.PENDING
    )
    invitation.sent_count += 1
    _send_invitation(request, invitation)
    AuditEvent.record(request, "invitation.resent", invitation)
    messages.success(
        request, _("Invitation sent again to %(email)s.") % {"email": invitation.email}
    )
    return redirect("organisations:team")


@role_required(Role.ADMIN)
@require_POST
def invitation_revoke(request, invitation_id):
    invitation = get_object_or_404(
        Invitation.objects, pk=invitation_id, status=Invitation.Status.PENDING
    )
    invitation.status = Invitation.Status.REVOKED
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["status", "responded_at"])
    AuditEvent.record(request, "invitation.revoked", invitation)
    messages.success(request, _("Invitation to %(email)s withdrawn.") % {"email": invitation.email})
    return redirect("organisations:team")


def _managed_membership(request, membership_id) -> Membership:
    """A member the current user may manage: admins manage everyone but owners."""
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=membership_id)
    if not request.membership.allows(Role.ADMIN):
        raise PermissionDenied(_("Your role does not allow this."))
    if membership.role == Role.OWNER and request.membership.role != Role.OWNER:
        raise PermissionDenied(_("Only an owner can change an owner."))
    return membership


@role_required(Role.ADMIN)
@require_POST
def member_role(request, membership_id):
    membership = _managed_membership(request, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a role from the list."))
        return redirect("organisations:team")
    role = form.cleaned_data["role"]
    if role == Role.OWNER and request.membership.role != Role.OWNER:
        raise PermissionDenied(_("Only an owner can make someone an owner."))
    before = membership.role
    try:
        membership.change_role(role)
    except LastOwnerError as exc:
        messages.error(request, exc.messages[0])
        return redirect("organisations:team")
    AuditEvent.record(
        request,
        "membership.role_changed",
        membership,
        before={"role": before},
        after={"role": role},
    )
    messages.success(
        request,
        _("%(user)s is now %(role)s.")
        % {"user": membership.user, "role": membership.get_role_display()},
    )
    return redirect("organisations:team")


@role_required(Role.VIEWER)
@require_POST
def member_remove(request, membership_id):
    leaving = str(membership_id) == str(request.membership.pk)
    membership = request.membership if leaving else _managed_membership(request, membership_id)
    try:
        membership.remove()
    except LastOwnerError as exc:
        messages.error(request, exc.messages[0])
        return redirect("organisations:team")
    AuditEvent.record(
        request,
        "membership.removed",
        membership,
        before={"role": membership.role, "email": membership.user.email},
    )
    if leaving:
        request.session.pop(ACTIVE_ORGANISATION_SESSION_KEY, None)
        messages.info(request, _("You left %(name)s.") % {"name": request.organisation})
        return redirect("organisations:home")
    messages.success(request, _("%(user)s was removed.") % {"user": membership.user})
    return redirect("organisations:team")


@role_required(Role.OWNER)
@require_POST
def transfer_ownership(request, membership_id):
    other = get_object_or_404(Membership.objects.select_related("user"), pk=membership_id)
    if other.pk == request.membership.pk:
        messages.error(request, _("You are already the owner."))
        return redirect("organisations:team")
    request.membership.transfer_ownership_to(other)
    AuditEvent.record(
        request,
        "membership.ownership_transferred",
        other,
        before={"owner": request.user.email},
        after={"owner": other.user.email},
    )
    messages.success(
        request, _("%(user)s is now an owner; you are an admin.") % {"user": other.user}
    )
    return redirect("organisations:team")


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        translation.activate(request.user.language)
        messages.success(request, _("Your profile was saved."))
        return redirect("organisations:profile")
    return render(request, "organisations/profile.html", {"form": form})


@role_required(Role.ADMIN)
def organisation_settings(request):
    organisation = Organisation.objects.get(pk=request.organisation.pk)
    before = {f: getattr(organisation, f) for f in OrganisationForm.Meta.fields}
    form = OrganisationForm(request.POST or None, instance=organisation)
    if request.method == "POST" and form.is_valid():
        form.save()
        after = {f: getattr(organisation, f) for f in OrganisationForm.Meta.fields}
        changed = {k for k in after if after[k] != before[k]}
        if changed:
            AuditEvent.record(
                request,
                "organisation.updated",
                organisation,
                before={k: before[k] for k in changed},
                after={k: after[k] for k in changed},
            )
        messages.success(request, _("Organisation settings saved."))
        return redirect("organisations:settings")
    return render(request, "organisations/settings.html", {"form": form})


@role_required(Role.VIEWER)
def locations(request):
    return render(
        request,
        "organisations/locations.html",
        {"locations": Location.objects.all(), "can_manage": request.membership.allows(Role.ADMIN)},
    )


@role_required(Role.ADMIN)
def location_edit(request, location_id=None):
    location = get_object_or_404(Location.objects, pk=location_id) if location_id else None
    before = LocationForm(instance=location).initial if location else {}
    form = LocationForm(request.POST or None, instance=location)
    if request.method == "POST" and form.is_valid():
        if location is None:
            refusal = limits.refusal("location", request.organisation)
            if refusal:
                messages.error(request, refusal)
                return redirect("organisations:locations")
        saved = form.save()
        if not Location.objects.filter(is_default=True).exists():
            saved.make_default()
        AuditEvent.record(
            request,
            "location.updated" if location else "location.created",
            saved,
            before={k: str(v) for k, v in before.items()},
            after={k: str(form.cleaned_data[k]) for k in form.changed_data},
        )
        messages.success(request, _("%(name)s saved.") % {"name": saved})
        return redirect("organisations:locations")
    return render(request, "organisations/location_form.html", {"form": form, "location": location})


@role_required(Role.ADMIN)
@require_POST
def location_make_default(request, location_id):
    location = get_object_or_404(Location.objects, pk=location_id)
    location.make_default()
    AuditEvent.record(request, "location.made_default", location)
    messages.success(request, _("%(name)s is now the default location.") % {"name": location})
    return redirect("organisations:locations")


@role_required(Role.ADMIN)
@require_POST
def location_delete(request, location_id):
    location = get_object_or_404(Location.objects, pk=location_id)
    if Location.objects.count() == 1:
        messages.error(request, _("An organisation needs at least one location."))
        return redirect("organisations:locations")
    location.delete()
    if not Location.objects.filter(is_default=True).exists():
        Location.objects.order_by("name").first().make_default()
    AuditEvent.record(request, "location.deleted", location, before={"name": location.name})
    messages.success(request, _("%(name)s deleted.") % {"name": location})
    return redirect("organisations:locations")


@role_required(Role.VIEWER)
def customers(request):
    query = request.GET.get("q", "").strip()
    queryset = Customer.objects.all()
    if query:
        digits = "".join(ch for ch in query if ch.isdigit())
        condition = Q(name__icontains=query) | Q(email__icontains=query)
        if digits:
            condition |= Q(phone__contains=digits)
        queryset = queryset.filter(condition)
    return render(
        request,
        "organisations/customers.html",
        {
            "page": paginate(request, queryset.order_by("name", "phone")),
            "query": query,
            "can_edit": request.membership.allows(Role.STAFF),
        },
    )


@role_required(Role.VIEWER)
def customer_detail(request, customer_id):
    customer = get_object_or_404(Customer.objects, pk=customer_id)
    return render(
        request,
        "organisations/customer_detail.html",
        {
            "customer": customer,
            "can_edit": request.membership.allows(Role.STAFF),
            "can_manage_data": request.membership.allows(Role.ADMIN),
            "panels": render_panels("customer_panels", request, customer),
        },
    )


@role_required(Role.STAFF)
def customer_edit(request, customer_id=None):
    customer = get_object_or_404(Customer.objects, pk=customer_id) if customer_id else None
    form = CustomerForm(request.POST or None, instance=customer)
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        if customer is None:
            saved.first_contact_at = None
        if "sms_opt_out" in form.changed_data:
            saved.sms_opted_out_at = timezone.now() if saved.sms_opt_out else None
        saved.save()
        messages.success(request, _("%(name)s saved.") % {"name": saved})
        return redirect("organisations:customer", saved.pk)
    return render(request, "organisations/customer_form.html", {"form": form, "customer": customer})


@role_required(Role.STAFF)
def customers_csv(request):
    """All customers as CSV (opens in a spreadsheet), in the organisation's order."""
    columns = ["name", "phone", "email", "preferred_language", "sms_opt_out", "last_contact_at"]
    rows = Customer.objects.order_by("name", "phone").values_list(*columns)
    return csv_response("customers.csv", columns, rows.iterator(chunk_size=2000))


@role_required(Role.ADMIN)
def customer_export(request, customer_id):
    customer = get_object_or_404(Customer.objects.select_related("organisation"), pk=customer_id)
    AuditEvent.record(request, "customer.exported", customer)
    response = JsonResponse(export_customer(customer), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.json"'
    return response


@role_required(Role.ADMIN)
@require_POST
def customer_erase(request, customer_id):
    customer = get_object_or_404(Customer.objects, pk=customer_id)
    if request.POST.get("confirm") != customer.phone:
        messages.error(request, _("Type the customer's phone number exactly to confirm erasure."))
        return redirect("organisations:customer", customer.pk)
    customer_pk = customer.pk
    sections = erase_customer(customer)
    # The audit entry keeps the fact of erasure, never the erased personal data.
    AuditEvent.objects.create(
        actor=request.user,
        action="customer.erased",
        target_type="Customer",
        target_id=str(customer_pk),
        target_repr="(erased)",
        after={"sections": sections},
        ip_address=client_ip(request),
    )
    messages.success(request, _("The customer's personal data was erased."))
    return redirect("organisations:customers")


@role_required(Role.ADMIN)
def audit_log(request):
    events = AuditEvent.objects.select_related("actor")
    action = request.GET.get("action", "")
    if action:
        events = events.filter(action__startswith=action)
    return render(
        request,
        "organisations/audit_log.html",
        {"page": paginate(request, events, per_page=50), "action": action},
    )


@role_required(Role.VIEWER)
def notifications(request):
    return render(
        request,
        "organisations/notifications.html",
        {"page": paginate(request, Notification.for_user(request.user))},
    )


@role_required(Role.VIEWER)
@require_POST
def notification_read(request, notification_id):
    notification = get_object_or_404(Notification.for_user(request.user), pk=notification_id)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    if notification.link.startswith("/"):
        return redirect(notification.link)
    return redirect("organisations:notifications")


@role_required(Role.VIEWER)
@require_POST
def notifications_read_all(request):
    Notification.for_user(request.user).filter(read_at__isnull=True).update(read_at=timezone.now())
    messages.success(request, _("All notifications marked as read."))
    return redirect("organisations:notifications")


@role_required(Role.ADMIN)
def api_keys(request):
    form = ApiKeyForm(request.POST or None, creator=request.membership)
    new_key = None
    if request.method == "POST" and form.is_valid():
        key = ApiKey(
            name=form.cleaned_data["name"], role=form.cleaned_data["role"], created_by=request.user
        )
        new_key = key.issue()
        key.save()
        AuditEvent.record(request, "api_key.created", key, after={"role": key.role})
        form = ApiKeyForm(creator=request.membership)
    return render(
        request,
        "organisations/api_keys.html",
        {"keys": ApiKey.objects.select_related("created_by"), "form": form, "new_key": new_key},
        status=400 if form.errors else 200,
    )


@role_required(Role.ADMIN)
@require_POST
def api_key_revoke(request, key_id):
    key = get_object_or_404(ApiKey.objects, pk=key_id, revoked_at__isnull=True)
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    AuditEvent.record(request, "api_key.revoked", key)
    messages.success(request, _("%(name)s revoked: it stops working now.") % {"name": key.name})
    return redirect("organisations:api_keys")


# ---------------------------------------------------------------------------------------------
# Health


@require_GET
@never_cache
def healthz(request):
    checks = {"database": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    if settings.REDIS_URL:
        checks["redis"] = "ok"
        try:
            import redis

            redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )
