"""A customer's personal data across apps, for GDPR export and erasure.

Each app that keeps data about a customer registers a section when it loads:
`register("appointments", export=fn, erase=fn)`. `export(customer)` returns JSON-ready data;
`erase(customer)` deletes or anonymises that app's personal data about them. `organisations`
can't import the other apps (imports go one way), so this registry is how it reaches them.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone


@dataclass(frozen=True)
class Section:
    name: str
    export: Callable | None
    erase: Callable | None


_sections: dict[str, Section] = {}


def register(name: str, *, export: Callable | None = None, erase: Callable | None = None) -> None:
    _sections[name] = Section(name, export, erase)


def _profile(customer) -> dict:
    return {
        "id": str(customer.pk),
        "name": customer.name,
        "phone": customer.phone,
        "email": customer.email,
        "preferred_language": customer.preferred_language,
        "notes": customer.notes,
        "sms_opt_out": customer.sms_opt_out,
        "first_contact_at": customer.first_contact_at,
        "last_contact_at": customer.last_contact_at,
        "created_at": customer.created_at,
    }


def export_customer(customer) -> dict:
    data = {
        "exported_at": timezone.now(),
        "organisation": customer.organisation.name,
        "customer": _profile(customer),
    }
    for section in _sections.values():
        if section.export is not None:
            data[section.name] = section.export(customer)
    return data


def erase_customer(customer) -> list[str]:
    """Erase everything we hold about `customer` in every app, then the customer row itself.
    Returns the sections erased (for the audit log, which records no personal data)."""
    erased = []
    for section in _sections.values():
        if section.erase is not None:
            section.erase(customer)
            erased.append(section.name)
    customer.delete()
    return [*erased, "customer"]
