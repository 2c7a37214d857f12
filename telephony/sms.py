"""Texts: choosing the backend, queueing, delivering, and keeping opted-out people out of it.

Like Django's email backends, `settings.SMS_BACKEND` names the class that sends:
`TwilioBackend` (real, through the official SDK), `ConsoleBackend` (prints; `make run`) or
`InMemoryBackend` (collects in `outbox`; tests). Sending is always: `queue()` writes an
`SmsMessage` and enqueues `tasks.deliver_sms` on commit; the task sends through the backend,
retrying transient errors and recording permanent ones. Nobody who opted out is ever texted:
`queue()` records the refusal instead, and delivery checks again at send time.
"""

import logging
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.module_loading import import_string

from organisations.models import Customer, Location, Notification
from organisations.providers import PermanentProviderError
from telephony.models import EmergencyNotification, PhoneNumber, SmsMessage, TelephonySettings
from telephony.providers import twilio
from telephony.sms_templates import OPT_OUT, TEMPLATES, WHEN_FORMATS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingSms:
    to: str
    from_number: str
    body: str
    status_callback: str
    account_sid: str
    auth_token: str


@dataclass(frozen=True)
class Sent:
    sid: str
    status: str  # SmsMessage.Status value


class TwilioBackend:
    def send(self, sms: OutgoingSms) -> Sent:
        sent = twilio.send_sms(
            account_sid=sms.account_sid,
            auth_token=sms.auth_token,
            to=sms.to,
            from_number=sms.from_number,
            body=sms.body,
            status_callback=sms.status_callback,
            timeout=settings.TWILIO_TIMEOUT_SECONDS,
        )
        return Sent(sid=sent.sid, status=sent.status)


class ConsoleBackend:
    """Prints texts instead of sending them (for `make run` with no Twilio account)."""

    stream = sys.stdout

    def send(self, sms: OutgoingSms) -> Sent:
        self.stream.write(f"--- SMS from {sms.from_number or '(no number)'} to {sms.to}\n")
        self.stream.write(f"{sms.body}\n---\n")
        self.stream.flush()
        return Sent(sid=f"console-{uuid.uuid4().hex}", status=SmsMessage.Status.SENT)


outbox: list[OutgoingSms] = []


class InMemoryBackend:
    """Keeps texts in `telephony.sms.outbox` (tests)."""

    def send(self, sms: OutgoingSms) -> Sent:
        outbox.append(sms)
        return Sent(sid=f"SM{uuid.uuid4().hex}", status=SmsMessage.Status.SENT)


def backend():
    return import_string(settings.SMS_BACKEND)()


# ---------------------------------------------------------------------------------------------
# Writing texts


def render(template_key: str, language: str, **context) -> str:
    variants = TEMPLATES[template_key]
    language = language if language in variants else "en"
    return variants[language].format(opt_out=OPT_OUT.get(language, OPT_OUT["en"]), **context)


def format_when(moment: datetime, location: Location, language: str) -> str:
    """An appointment time as a person reads it, in the location's time zone and language."""
    local = timezone.localtime(moment, location.zone)
    with translation.override(language):
        return formats.date_format(local, WHEN_FORMATS.get(language, WHEN_FORMATS["en"]))


def is_opted_out(phone: str) -> bool:
    return Customer.objects.filter(phone=phone, sms_opt_out=True).exists()


def queue(
    to: str,
    body: str,
    *,
    template_key: str = "",
    language: str = "en",
    location: Location | None = None,
    customer: Customer | None = None,
    call=None,
    appointment=None,
    scheduled_for: datetime | None = None,
) -> SmsMessage:
    """Record an outgoing text and send it once the transaction commits. Someone who opted out
    gets no text: the refusal is recorded (status failed, error `opted_out`) and nothing is
    sent."""
    opted_out = customer.sms_opt_out if customer is not None else is_opted_out(to)
    sender = PhoneNumber.sender_for(location)
    message = SmsMessage.objects.create(
        direction=SmsMessage.Direction.OUTBOUND,
        to_number=to,
        from_number=sender.number if sender else "",
        body=body,
        template_key=template_key,
        language=language,
        customer=customer,
        call=call,
        appointment=appointment,
        scheduled_for=scheduled_for,
        status=SmsMessage.Status.FAILED if opted_out else SmsMessage.Status.QUEUED,
        error_code=SmsMessage.OPTED_OUT if opted_out else "",
        error_message="The recipient opted out of texts." if opted_out else "",
    )
    if not opted_out:
        from telephony.tasks import deliver_sms

        deliver_sms.delay_on_commit(
            organisation_id=str(message.organisation_id), sms_id=str(message.pk)
        )
    return message


# ---------------------------------------------------------------------------------------------
# Delivering (called by tasks.deliver_sms)


def deliver(message: SmsMessage, *, attempt: int) -> None:
    """Send a queued text once. Transient provider errors propagate (the task retries them);
    permanent ones are recorded on the message."""
    message.attempts = attempt
    if is_opted_out(message.to_number):
        _fail(message, SmsMessage.OPTED_OUT, "The recipient opted out of texts.")
        return
    account_sid, auth_token = TelephonySettings.current().twilio_credentials()
    outgoing = OutgoingSms(
        to=message.to_number,
        from_number=message.from_number,
        body=message.body,
        status_callback=settings.PUBLIC_BASE_URL + reverse("telephony:twilio_sms_status"),
        account_sid=account_sid,
        auth_token=auth_token,
    )
    try:
        sent = backend().send(outgoing)
    except twilio.MessageRefused as exc:
        if exc.opted_out:
            # Twilio knows of a STOP we missed: mirror it so nobody queues texts for them again.
            for customer in Customer.objects.filter(phone=message.to_number, sms_opt_out=False):
                customer.set_sms_opt_out(True)
        _fail(message, SmsMessage.OPTED_OUT if exc.opted_out else str(exc.code or ""), str(exc))
        return
    except PermanentProviderError as exc:
        _fail(message, "", str(exc))
        return
    message.twilio_sid = sent.sid
    message.status = sent.status
    message.sent_at = timezone.now()
    message.save(update_fields=["twilio_sid", "status", "sent_at", "attempts"])
    EmergencyNotification.follow_sms(message)


def note_failure(message: SmsMessage, error: str, *, attempt: int) -> None:
    """A transient failure: the text stays queued for the retry, with the error on record."""
    message.attempts = attempt
    message.error_message = error[:500]
    message.save(update_fields=["attempts", "error_message"])


def give_up(message: SmsMessage, error: str, *, attempt: int) -> None:
    """The provider kept failing: stop retrying and tell the clinic."""
    message.attempts = attempt
    _fail(message, "transient", error)
    Notification.notify(
        "A text could not be sent",
        body=f"To {message.to_number}: {message.body[:120]} ({error[:200]})",
        level=Notification.Level.ERROR,
    )


def _fail(message: SmsMessage, code: str, error: str) -> None:
    message.status = SmsMessage.Status.FAILED
    message.error_code = code[:32]
    message.error_message = error[:500]
    message.save(update_fields=["status", "error_code", "error_message", "attempts"])
    EmergencyNotification.follow_sms(message)
    logger.info("SMS %s not sent: %s %s", message.pk, code, error)


def record_status(sid: str, status: str | None, error_code: str) -> SmsMessage | None:
    """A delivery status callback for one of our texts."""
    message = SmsMessage.objects.filter(twilio_sid=sid).first()
    if message is None or status is None:
        return message
    if message.record_status(status, error_code=error_code):
        EmergencyNotification.follow_sms(message)
    return message
