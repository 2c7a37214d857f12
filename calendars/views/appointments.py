"""Appointments in the dashboard: list, week view, free times, booking and changing them.

Times are entered and shown in the appointment's location time zone; everything goes through
calendars.booking, the same functions the phone assistant uses.
"""

import uuid
from datetime import date, datetime, time, timedelta

from django.contrib import messages
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from calendars import booking
from calendars.availability import find_free_slots
from calendars.forms import AppointmentForm, AvailabilityForm, LocalTimeForm
from calendars.models import Appointment, Closure, WorkingHours
from organisations.models import Location
from organisations.pagination import paginate
from organisations.roles import Role, role_required

AVAILABILITY_DAYS = 7


def _chosen_location(request) -> Location | None:
    """The ?location= of the request (404 for another organisation's), else the default."""
    if request.GET.get("location"):
        return get_object_or_404(Location.objects, pk=request.GET["location"])
    return Location.objects.order_by("-is_default", "name").first()


@role_required(Role.VIEWER)
def appointments(request):
    listing = Appointment.objects.select_related("location", "service")
    when = request.GET.get("when", "upcoming")
    now = timezone.now()
    if when == "upcoming":
        listing = listing.filter(end_at__gte=now).order_by("start_at")
    elif when == "past":
        listing = listing.filter(end_at__lt=now).order_by("-start_at")
    else:
        listing = listing.order_by("-start_at")
    if request.GET.get("location"):
        listing = listing.filter(location=_chosen_location(request))
    status = request.GET.get("status", "")
    if status in Appointment.Status.values:
        listing = listing.filter(status=status)
    query = request.GET.get("q", "").strip()
    if query:
        listing = listing.filter(
            Q(name__icontains=query) | Q(phone__icontains=query) | Q(email__icontains=query)
        )
    return render(
        request,
        "calendars/appointments.html",
        {
            "page": paginate(request, listing),
            "locations": Location.objects.all(),
            "statuses": Appointment.Status.choices,
            "filters": {
                "when": when,
                "status": status,
                "q": query,
                "location": request.GET.get("location", ""),
            },
            "can_edit": request.membership.allows(Role.STAFF),
        },
    )


@role_required(Role.VIEWER)
def week(request):
    location = _chosen_location(request)
    if location is None:
        return redirect("calendars:appointments")
    zone = location.zone
    try:
        anchor = date.fromisoformat(request.GET.get("start", ""))
    except ValueError:
        anchor = timezone.now().astimezone(zone).date()
    monday = anchor - timedelta(days=anchor.weekday())
    days = [monday + timedelta(days=n) for n in range(7)]
    start = datetime.combine(monday, time.min, tzinfo=zone)
    end = start + timedelta(days=7)  # wall-clock days, so a DST week is still Monday to Monday
    booked = (
        Appointment.objects.select_related("service")
        .filter(location=location, start_at__lt=end, end_at__gt=start)
        .exclude(status=Appointment.Status.CANCELLED)
        .order_by("start_at")
    )
    hours = WorkingHours.objects.filter(location=location)
    closures = Closure.objects.filter(
        Q(location=location) | Q(location__isnull=True),
        start_date__lte=days[-1],
        end_date__gte=days[0],
    )
    columns = [
        {
            "date": day,
            "hours": [h for h in hours if h.weekday == day.weekday()],
            "closures": [c for c in closures if c.start_date <= day <= c.end_date],
            "appointments": [a for a in booked if a.start_at.astimezone(zone).date() == day],
        }
        for day in days
    ]
    return render(
        request,
        "calendars/week.html",
        {
            "location": location,
            "locations": Location.objects.all(),
            "columns": columns,
            "previous": monday - timedelta(days=7),
            "next": monday + timedelta(days=7),
            "today": timezone.now().astimezone(zone).date(),
        },
    )


@role_required(Role.VIEWER)
def availability(request):
    form = AvailabilityForm(request.GET or None, initial={"date": timezone.localdate()})
    days = []
    if form.is_valid():
        location, first = form.cleaned_data["location"], form.cleaned_data["date"]
        slots = find_free_slots(
            location,
            form.cleaned_data["service"],
            first,
            first + timedelta(days=AVAILABILITY_DAYS - 1),
        )
        for slot in slots:
            local = slot.start.astimezone(location.zone)
            if not days or days[-1]["date"] != local.date():
                days.append({"date": local.date(), "slots": []})
            days[-1]["slots"].append(local)
    return render(
        request,
        "calendars/availability.html",
        {"form": form, "days": days, "can_edit": request.membership.allows(Role.STAFF)},
    )


def _submitted(request):
    """The POST data, with a chosen alternative (offered after a refusal) as date and time."""
    if "alternative" not in request.POST:
        return request.POST or None
    data = request.POST.copy()
    data["date"], _sep, data["time"] = data.pop("alternative")[0].partition("T")
    return data


@role_required(Role.STAFF)
def appointment_create(request):
    form = AppointmentForm(_submitted(request), initial=request.GET.dict())
    # One key per form shown: a double-submitted form books once.
    request_key = request.POST.get("request_key") or uuid.uuid4().hex
    alternatives = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        location = data["location"]
        try:
            appointment = booking.book_appointment(
                location=location,
                service=data["service"],
                start=form.local_start(location),
                name=data["name"],
                phone=data["phone"],
                email=data["email"],
                source=Appointment.Source.DASHBOARD,
                notes=data["notes"],
                language=data["language"],
                urgency=data["urgency"],
                is_emergency=data["is_emergency"],
                idempotency_key=f"dashboard:{request_key}",
            )
        except booking.SlotUnavailable as refusal:
            form.add_error(None, str(refusal))
            alternatives = _local(refusal.alternatives, location)
        else:
            messages.success(request, _("Appointment booked for %(name)s.") % data)
            return redirect("calendars:appointment", appointment.pk)
    return render(
        request,
        "calendars/appointment_form.html",
        {"form": form, "request_key": request_key, "alternatives": alternatives},
    )


def _local(slots, location):
    return [slot.start.astimezone(location.zone) for slot in slots]


def _appointment(appointment_id) -> Appointment:
    return get_object_or_404(
        Appointment.objects.select_related("location", "service", "customer"), pk=appointment_id
    )


@role_required(Role.VIEWER)
def appointment_detail(request, appointment_id):
    appointment = _appointment(appointment_id)
    return render(
        request,
        "calendars/appointment_detail.html",
        {
            "appointment": appointment,
            "can_edit": request.membership.allows(Role.STAFF),
            "started": appointment.start_at <= timezone.now(),
        },
    )


@role_required(Role.STAFF)
def appointment_reschedule(request, appointment_id):
    appointment = _appointment(appointment_id)
    if not appointment.is_open:
        messages.error(request, _("Only pending or confirmed appointments can be moved."))
        return redirect("calendars:appointment", appointment.pk)
    local = appointment.local_start()
    form = LocalTimeForm(_submitted(request), initial={"date": local.date(), "time": local.time()})
    alternatives = []
    if request.method == "POST" and form.is_valid():
        try:
            booking.reschedule_appointment(appointment, form.local_start(appointment.location))
        except booking.SlotUnavailable as refusal:
            form.add_error(None, str(refusal))
            alternatives = _local(refusal.alternatives, appointment.location)
        except booking.InvalidTransition as exc:
            messages.error(request, str(exc))
            return redirect("calendars:appointment", appointment.pk)
        else:
            messages.success(request, _("Appointment moved."))
            return redirect("calendars:appointment", appointment.pk)
    return render(
        request,
        "calendars/appointment_reschedule.html",
        {"form": form, "appointment": appointment, "alternatives": alternatives},
    )


def _change(request, appointment_id, change, done_message):
    appointment = _appointment(appointment_id)
    try:
        change(appointment)
    except booking.InvalidTransition as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done_message)
    return redirect("calendars:appointment", appointment.pk)


@role_required(Role.STAFF)
@require_POST
def appointment_cancel(request, appointment_id):
    reason = request.POST.get("reason", "")
    return _change(
        request,
        appointment_id,
        lambda appointment: booking.cancel_appointment(appointment, reason=reason),
        _("Appointment cancelled."),
    )


@role_required(Role.STAFF)
@require_POST
def appointment_complete(request, appointment_id):
    return _change(request, appointment_id, booking.complete_appointment, _("Marked as completed."))


@role_required(Role.STAFF)
@require_POST
def appointment_no_show(request, appointment_id):
    return _change(request, appointment_id, booking.mark_no_show, _("Marked as a no-show."))
