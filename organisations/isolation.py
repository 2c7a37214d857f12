"""The registry the cross-tenant isolation sweep reads (organisations/tests/test_isolation.py).

Every named URL of the project must be listed by its app in `<app>/tests/isolation.py`:

* `OBJECT_URLS[name] = ObjectCase(make, kwarg)`: a page about one object. The sweep makes the
  object in *another* organisation with `make(organisation)`, requests the URL with its id as
  every member role of ours, with GET and POST, and expects 404 and no change to the object.
* `LIST_URLS[name] = make`: a page listing things. The sweep makes a row in another
  organisation with `make(organisation)` (returning a string that would show if it leaked) and
  checks the page never contains it.
* `EXEMPT_URLS[name] = "why"`: not tenant data reached by a signed-in member (webhooks, login...).

A new URL in none of them fails the sweep.
"""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ObjectCase:
    make: Callable  # make(organisation) -> model instance owned by that organisation
    kwarg: str
    extra_kwargs: dict = field(default_factory=dict)
