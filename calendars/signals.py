"""Signals other apps connect to (calendars imports none of them).

`appointment_changed(sender=Appointment, appointment=..., change=...)` is sent after the
transaction that booked, rescheduled, cancelled, completed or marked a no-show commits (never
for a rolled-back change). `change` is one of CHANGES. Receivers run inside a fresh
`tenant_transaction` of the appointment's organisation, so they may use the scoped managers and
enqueue tasks with `delay_on_commit`; an exception in a receiver is logged and does not undo the
change. Telephony sends SMS confirmations from it.
"""

from django.dispatch import Signal

BOOKED = "booked"
RESCHEDULED = "rescheduled"
CANCELLED = "cancelled"
COMPLETED = "completed"
NO_SHOW = "no_show"
CHANGES = (BOOKED, RESCHEDULED, CANCELLED, COMPLETED, NO_SHOW)

appointment_changed = Signal()
