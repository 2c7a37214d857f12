"""Drive a complete phone call through the real webhook routes, with no Vapi or Twilio account.

    python manage.py simulate_call --to +442079460500 --from +442079460101

Each step is a Vapi server message, HMAC-signed with VAPI_WEBHOOK_SECRET exactly as Vapi signs
them, posted to /webhooks/vapi/ through Django's full request stack: assistant-request, a
status update, tool calls (check availability, then book the first free time), the end of the
call and the end-of-call report with its transcript. The call and the appointment then show in
the dashboard like any other.
"""

import json
import re
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from calendars.models import Service
from organisations.models import Customer
from organisations.tenancy import platform_transaction, tenant_transaction
from telephony.dates import DateNotUnderstood, resolve_date
from telephony.models import Call, CallAppointment, PhoneNumber
from telephony.providers import vapi

FIRST_TIME = re.compile(r"\b(\d{1,2}:\d{2})\b")


class Command(BaseCommand):
    help = "Simulate an inbound call that books an appointment, through the real webhook routes."

    def add_arguments(self, parser):
        parser.add_argument("--to", required=True, help="The clinic's number (E.164)")
        parser.add_argument("--from", dest="caller", required=True, help="The caller's number")
        parser.add_argument(
            "--name", default="", help="The caller's name (default: the customer's, or Jane Doe)"
        )
        parser.add_argument("--service", default="", help="Service to book (default: the first)")
        parser.add_argument("--date", default="tomorrow", help="Wanted day (words or YYYY-MM-DD)")

    def handle(self, *args, to, caller, name, service, date, **options):
        if not settings.VAPI_WEBHOOK_SECRET:
            raise CommandError(
                "Set VAPI_WEBHOOK_SECRET: the simulated requests are signed with it."
            )
        with platform_transaction():
            number = PhoneNumber.route(number=to)
            if number is None:
                raise CommandError(f"{to} is not an active Frontdesk number (see seed_demo's).")
            service = service or (
                Service.all_organisations.filter(
                    organisation_id=number.organisation_id, active=True
                )
                .values_list("name", flat=True)
                .first()
                or ""
            )
            name = name or (
                Customer.all_organisations.filter(
                    organisation_id=number.organisation_id, phone=caller
                )
                .exclude(name="")
                .values_list("name", flat=True)
                .first()
                or "Jane Doe"
            )
            location = number.location or number.organisation.default_location
            today = timezone.localtime(timezone=location.zone).date()
        base = urlsplit(settings.PUBLIC_BASE_URL)
        self.client = Client(HTTP_HOST=base.netloc)
        self.path = reverse("telephony:vapi_webhook")
        common = {
            "call_id": str(uuid.uuid4()),
            "number": number.number,
            "number_id": number.vapi_phone_number_id,
            "caller": caller,
        }
        started = timezone.now()

        answer = self.post(vapi.simulated_message("assistant-request", **common))
        if "assistant" not in answer:
            self.stdout.write(self.style.WARNING(f"The call was not answered: {answer}"))
            return
        common["metadata"] = answer["assistant"]["metadata"]
        greeting = answer["assistant"]["firstMessage"]
        self.step("assistant-request", f"assistant answers: {greeting!r}")
        self.post(vapi.simulated_message("status-update", status="in-progress", **common))

        day, offer = self.find_free_day(common, service, date, today)
        wanted = FIRST_TIME.search(offer)
        if wanted is None:
            raise CommandError(f"No free time found: {offer}")
        booked = self.tool(
            common,
            "book_appointment",
            {"date": day, "time": wanted.group(1), "name": name, "service": service},
        )

        ended = timezone.now() + timedelta(seconds=45)
        lines = [
            ("assistant", greeting, 0.5),
            ("caller", f"Hi, I'd like to book a {service or 'visit'} {date} please.", 4.0),
            ("assistant", offer, 9.0),
            ("caller", f"{wanted.group(1)} works. My name is {name}.", 16.0),
            ("assistant", booked, 21.0),
            ("caller", "Thank you, bye!", 27.0),
        ]
        self.post(
            vapi.simulated_message(
                "status-update", status="ended", endedReason="customer-ended-call", **common
            )
        )
        self.post(
            vapi.simulated_report(
                started=started,
                ended=ended,
                lines=lines,
                summary=f"{name} called to book and was booked: {booked}",
                **common,
            )
        )
        self.step("end-of-call-report", "transcript and summary stored")
        self.report(number, common["metadata"]["call_id"])

    def post(self, payload: dict) -> dict:
        body = json.dumps(payload).encode()
        headers = vapi.signed_headers(body, settings.VAPI_WEBHOOK_SECRET)
        response = self.client.post(
            self.path,
            body,
            content_type="application/json",
            headers=headers,
        )
        if response.status_code != 200:
            hint = " (is the host of PUBLIC_BASE_URL in ALLOWED_HOSTS?)" * (
                response.status_code == 400
            )
            raise CommandError(f"{payload['message']['type']}: HTTP {response.status_code}{hint}")
        return response.json()

    def tool(self, common: dict, name: str, arguments: dict) -> str:
        message = vapi.simulated_tool_calls(
            [(f"sim-{uuid.uuid4().hex[:12]}", name, arguments)], **common
        )
        (result,) = self.post(message)["results"]
        answer = result.get("result") or f"error: {result.get('error')}"
        self.step(f"tool-calls {name}", answer)
        if "error" in result:
            raise CommandError(f"{name} failed: {result['error']}")
        return answer

    def find_free_day(self, common: dict, service: str, wanted: str, today) -> tuple[str, str]:
        """Ask for the wanted day, then the following days, until one has free times."""
        try:
            first = resolve_date(wanted, today)
        except DateNotUnderstood as exc:
            raise CommandError(str(exc)) from exc
        for offset in range(14):
            day = (first + timedelta(days=offset)).isoformat()
            offer = self.tool(common, "check_availability", {"date": day, "service": service})
            if not offer.startswith("Nothing is free"):
                return day, offer
        raise CommandError("Nothing is free in the next two weeks.")

    def step(self, name: str, text: str) -> None:
        self.stdout.write(f"  {self.style.MIGRATE_LABEL(name)}: {text}")

    def report(self, number: PhoneNumber, call_id: str) -> None:
        with tenant_transaction(number.organisation):
            call = Call.objects.select_related("customer").get(pk=call_id)
            links = list(
                CallAppointment.objects.filter(call=call).select_related(
                    "appointment__service", "appointment__location"
                )
            )
            lines = list(call.transcript.all())
        self.stdout.write(self.style.SUCCESS(f"\nCall {call.pk} ({number.organisation})"))
        self.stdout.write(
            f"  {call.from_number} → {call.to_number}: {call.get_status_display()}, "
            f"{call.get_outcome_display()}, {call.duration_seconds} s"
        )
        self.stdout.write(f"  Summary: {call.summary}")
        for line in lines:
            self.stdout.write(
                f"    [{line.seconds_from_start:>4.0f}s] {line.get_role_display()}: {line.text}"
            )
        for link in links:
            appointment = link.appointment
            self.stdout.write(
                self.style.SUCCESS(
                    f"  Appointment {link.get_action_display().lower()}: {appointment.service} at "
                    f"{appointment.location} on {appointment.local_start():%A %d %B %Y %H:%M} "
                    f"for {appointment.display_name} ({appointment.get_status_display()})"
                )
            )
        self.stdout.write(
            f"  Dashboard: {settings.PUBLIC_BASE_URL}{reverse('telephony:call', args=[call.pk])}"
        )
