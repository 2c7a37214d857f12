"""Plan limits, seen from the apps that enforce them.

`organisations` may not import `billing` (imports go one way, see ARCHITECTURE §1), so billing
registers its checks here when it loads and the views that add members or locations ask through
`refusal()`. With no check registered (billing not configured) nothing is refused.
"""

from collections.abc import Callable

Check = Callable[[object], str | None]
_checks: dict[str, list[Check]] = {}


def register(resource: str, check: Check) -> None:
    """`check(organisation)` returns a message saying why one more `resource` is refused."""
    if check not in _checks.setdefault(resource, []):
        _checks[resource].append(check)


def refusal(resource: str, organisation) -> str | None:
    for check in _checks.get(resource, []):
        message = check(organisation)
        if message:
            return message
    return None
