"""Settings pages: services, opening hours and closures."""

from django.contrib import messages
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from calendars.forms import ClosureForm, ServiceForm, WorkingHoursFormSet
from calendars.models import Closure, Service, WorkingHours
from organisations.models import AuditEvent, Location
from organisations.roles import Role, role_required


@role_required(Role.VIEWER)
def services(request):
    offered = Prefetch("locations", queryset=Location.objects.all(), to_attr="offered_at")
    return render(
        request,
        "calendars/services.html",
        {
            "services": Service.objects.prefetch_related(offered),
            "can_manage": request.membership.allows(Role.ADMIN),
        },
    )


@role_required(Role.ADMIN)
def service_edit(request, service_id=None):
    service = get_object_or_404(Service.objects, pk=service_id) if service_id else None
    form = ServiceForm(request.POST or None, instance=service)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        AuditEvent.record(
            request,
            "service.updated" if service else "service.created",
            saved,
            after={name: str(form.cleaned_data[name]) for name in form.changed_data},
        )
        messages.success(request, _("%(name)s saved.") % {"name": saved})
        return redirect("calendars:services")
    return render(request, "calendars/service_form.html", {"form": form, "service": service})


@role_required(Role.VIEWER)
def hours(request):
    rows = WorkingHours.objects.all()
    closures = Closure.objects.select_related("location").filter(end_date__gte=timezone.localdate())
    locations = [
        {
            "location": location,
            "hours": [row for row in rows if row.location_id == location.pk],
        }
        for location in Location.objects.all()
    ]
    return render(
        request,
        "calendars/hours.html",
        {
            "locations": locations,
            "closures": closures,
            "can_manage": request.membership.allows(Role.ADMIN),
        },
    )


@role_required(Role.ADMIN)
def hours_edit(request, location_id):
    location = get_object_or_404(Location.objects, pk=location_id)
    formset = WorkingHoursFormSet(
        request.POST or None, queryset=WorkingHours.objects.filter(location=location)
    )
    if request.method == "POST" and formset.is_valid():
        for row in formset.save(commit=False):
            row.location = location
            row.save()
        for row in formset.deleted_objects:
            row.delete()
        AuditEvent.record(
            request,
            "working_hours.updated",
            location,
            after={"hours": [str(row) for row in WorkingHours.objects.filter(location=location)]},
        )
        messages.success(request, _("Opening hours of %(name)s saved.") % {"name": location})
        return redirect("calendars:hours")
    return render(request, "calendars/hours_form.html", {"formset": formset, "location": location})


@role_required(Role.ADMIN)
def closure_create(request):
    form = ClosureForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        closure = form.save()
        AuditEvent.record(
            request,
            "closure.created",
            closure,
            after={name: str(value) for name, value in form.cleaned_data.items()},
        )
        messages.success(request, _("Closure added."))
        return redirect("calendars:hours")
    return render(request, "calendars/closure_form.html", {"form": form})


@role_required(Role.ADMIN)
@require_POST
def closure_delete(request, closure_id):
    closure = get_object_or_404(Closure.objects, pk=closure_id)
    AuditEvent.record(request, "closure.deleted", closure, before={"closure": str(closure)})
    closure.delete()
    messages.success(request, _("Closure removed."))
    return redirect("calendars:hours")
