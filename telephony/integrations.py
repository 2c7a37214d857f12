"""The one place telephony reaches into apps that are still being built.

`calendars.booking` (book, reschedule, cancel, `SlotUnavailable`) is another team's work in
progress. Until it is merged the booking tools answer that booking by phone is not available
(they never pretend to book); this adapter is the only code that changes when it lands.
"""

from functools import cache
from importlib import import_module
from types import ModuleType


@cache
def _optional(module_name: str) -> ModuleType | None:
    try:
        return import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return None


def calendar_booking() -> ModuleType | None:
    """`calendars.booking`, or None while it has not landed."""
    return _optional("calendars.booking")


def calendar_signals() -> ModuleType | None:
    """`calendars.signals` (appointment_changed), or None while it has not landed."""
    return _optional("calendars.signals")
