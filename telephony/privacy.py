"""A customer's calls and texts, for the GDPR export and erasure in organisations.customer_data.

A customer's calls are found by the customer link and by their number (calls before the record
existed, or from a number later attached to someone else, are theirs too). Erasure deletes the
calls (transcripts, transfers and appointment links go with them), the texts and the raw
provider deliveries that mention the number, and blanks the emergency alerts that quoted them;
billing keeps only minutes against an opaque call id.
"""

from urllib.parse import quote_plus

from django.db.models import Q

from telephony.models import Call, EmergencyNotification, SmsMessage, WebhookDelivery

ERASED = "(erased at the customer's request)"


def calls_of(customer):
    return Call.objects.filter(Q(customer=customer) | Q(customer_phone=customer.phone))


def texts_of(customer):
    phone = customer.phone
    return SmsMessage.objects.filter(
        Q(customer=customer) | Q(to_number=phone) | Q(from_number=phone)
    )


def export_calls(customer) -> list[dict]:
    calls = calls_of(customer).prefetch_related("transcript", "transfers").order_by("created_at")
    return [
        {
            "id": str(call.pk),
            "direction": call.direction,
            "from": call.from_number,
            "to": call.to_number,
            "started_at": call.started_at,
            "ended_at": call.ended_at,
            "duration_seconds": call.duration_seconds,
            "outcome": call.outcome,
            "language": call.language,
            "emergency": call.is_emergency,
            "summary": call.summary,
            "message_for_the_clinic": call.caller_message,
            "recording_url": call.recording_url,
            "transcript": [
                {"role": line.role, "text": line.text, "spoken_at": line.spoken_at}
                for line in call.transcript.all()
            ],
            "transfers": [
                {"to": t.destination_label or t.destination, "reason": t.reason, "at": t.created_at}
                for t in call.transfers.all()
            ],
        }
        for call in calls
    ]


def export_texts(customer) -> list[dict]:
    return [
        {
            "direction": text.direction,
            "from": text.from_number,
            "to": text.to_number,
            "body": text.body,
            "status": text.status,
            "sent_at": text.created_at,
        }
        for text in texts_of(customer).order_by("created_at")
    ]


def erase_calls(customer) -> None:
    calls = calls_of(customer)
    EmergencyNotification.objects.filter(call__in=calls).update(message=ERASED)
    calls.delete()
    # The raw provider deliveries quote the number too (JSON from Vapi, form-encoded from
    # Twilio). A rare, deliberate scan: erasure is not on any hot path.
    WebhookDelivery.objects.filter(organisation_id=customer.organisation_id).filter(
        Q(body__contains=customer.phone) | Q(body__contains=quote_plus(customer.phone))
    ).delete()


def erase_texts(customer) -> None:
    texts_of(customer).delete()
