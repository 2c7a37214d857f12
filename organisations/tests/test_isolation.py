"""The cross-tenant sweep: every URL of the project, found by walking the URL conf, is checked
against another organisation's objects. See organisations/isolation.py for how apps register."""

from importlib import import_module

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse

from organisations.roles import Role

pytestmark = pytest.mark.django_db


def _walk(patterns, namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}"


def project_url_names() -> set[str]:
    # The platform admin is for staff only and has its own tests.
    return {name for name in _walk(get_resolver().url_patterns) if not name.startswith("admin:")}


def registry(attribute: str) -> dict:
    merged = {}
    for config in apps.get_app_configs():
        try:
            module = import_module(f"{config.name}.tests.isolation")
        except ModuleNotFoundError:
            continue
        merged.update(getattr(module, attribute, {}))
    return merged


OBJECT_URLS = registry("OBJECT_URLS")
LIST_URLS = registry("LIST_URLS")
EXEMPT_URLS = registry("EXEMPT_URLS")


def test_every_url_has_an_isolation_case():
    covered = set(OBJECT_URLS) | set(LIST_URLS) | set(EXEMPT_URLS)
    missing = project_url_names() - covered
    assert not missing, f"URLs without a cross-tenant isolation case: {sorted(missing)}"
    stale = covered - project_url_names()
    assert not stale, f"Isolation cases for URLs that no longer exist: {sorted(stale)}"


def required_role(view, method: str) -> str:
    """The role a view demands: dashboard views say it on the function; API views need viewer
    to read and staff to write."""
    if hasattr(view, "cls"):
        return Role.VIEWER if method == "get" else Role.STAFF
    return getattr(view, "required_role", Role.VIEWER)


def _snapshot(obj):
    return type(obj)._default_manager.filter(pk=obj.pk).values().first()


@pytest.fixture
def members(owner, admin_user, staff, viewer):
    return [owner, admin_user, staff, viewer]


@pytest.mark.parametrize("name", sorted(OBJECT_URLS))
def test_other_organisations_objects_are_404(name, other_org, members, client_for):
    case = OBJECT_URLS[name]
    target = case.make(other_org)
    url = reverse(name, kwargs={case.kwarg: target.pk, **case.extra_kwargs})
    before = _snapshot(target)
    refused = 0
    for user in members:
        client = client_for(user)
        role = user.memberships.get().role
        for method in ("get", "post"):
            # Below the view's role everyone gets 403 whatever the id: that reveals nothing.
            required = required_role(resolve(url).func, method)
            expected = 404 if Role.rank(role) >= Role.rank(required) else 403
            response = getattr(client, method)(url)
            if response.status_code == 405:
                continue
            assert response.status_code == expected, (
                f"{method.upper()} {name} as {role}: {response.status_code}, expected {expected}"
            )
            refused += expected == 404
    assert refused, f"{name} answered no method with 404"
    assert _snapshot(target) == before, f"{name} changed another organisation's row"


@pytest.mark.parametrize("name", sorted(LIST_URLS))
def test_lists_never_show_other_organisations_rows(name, other_org, members, client_for):
    marker = LIST_URLS[name](other_org)
    url = reverse(name)
    for user in members:
        response = client_for(user).get(url, follow=True)
        assert response.status_code in (200, 403, 405)
        assert marker.encode() not in response.content, f"{name} shows {marker!r} to {user}"


def test_outsider_is_not_a_member_anywhere_of_ours(org, owner, outsider, client_for):
    """The outsider's dashboard is their own organisation, never ours."""
    response = client_for(outsider).get(reverse("organisations:home"))
    assert response.status_code == 200
    assert b"Pacific Physio" in response.content
    assert b"Bright Smile Dental" not in response.content
