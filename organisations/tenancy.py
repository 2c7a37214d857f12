"""Tenant isolation, application layer and database layer.

Every row a clinic owns is a `TenantModel`. `Model.objects` only ever returns the current
organisation's rows and raises when no organisation is set (fail closed); cross-tenant platform code
(admin, beat scans, webhook tenant lookup, commands) says so by using `Model.all_organisations`.

On PostgreSQL the same boundary is enforced again by row-level security: policies compare each row's
`organisation_id` with the transaction-local setting `app.organisation_id`, written with
`set_config(..., true)` so a pooled or persistent connection can never carry a tenant into the next
request. `tenant_transaction()` opens the transaction, writes the setting and sets the context
variable in one step; the middleware, Celery tasks and webhooks all go through it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import TYPE_CHECKING

from django.db import connection, models, transaction

if TYPE_CHECKING:
    from organisations.models import Organisation

ORGANISATION_SETTING = "app.organisation_id"
PLATFORM_SETTING = "app.platform_access"


class TenantScopeError(RuntimeError):
    """Tenant data was touched with no organisation in scope."""


class CrossTenantError(ValueError):
    """A row would be written to, or point at, another organisation."""


class _Platform:
    """Marker for code that deliberately spans organisations (admin, beat scans, commands)."""

    def __repr__(self) -> str:
        return "<platform access>"


PLATFORM = _Platform()
_scope: ContextVar[Organisation | _Platform | None] = ContextVar("tenant_scope", default=None)


def current_organisation() -> Organisation | None:
    scope = _scope.get()
    return None if scope is PLATFORM else scope


def current_organisation_id() -> uuid.UUID:
    """The organisation in scope; raises when there is none (the fail-closed rule)."""
    organisation = current_organisation()
    if organisation is None:
        raise TenantScopeError(
            "No organisation in scope: wrap tenant data access in tenant(organisation), "
            "or use Model.all_organisations in platform code."
        )
    return organisation.pk


def has_platform_access() -> bool:
    return _scope.get() is PLATFORM


@contextmanager
def tenant(organisation: Organisation) -> Iterator[Organisation]:
    """Make `organisation` the current tenant for the ORM in this context (not the database)."""
    if organisation is None or organisation.pk is None:
        raise TenantScopeError("tenant() needs a saved organisation")
    token = _scope.set(organisation)
    try:
        yield organisation
    finally:
        _scope.reset(token)


@contextmanager
def platform_access() -> Iterator[None]:
    """Allow writes to any organisation's rows (admin, seeding, beat scans). Reads still go
    through `all_organisations`; `objects` stays closed."""
    token = _scope.set(PLATFORM)
    try:
        yield
    finally:
        _scope.reset(token)


def _write_database_scope(scope: Organisation | _Platform | None) -> None:
    if connection.vendor != "postgresql":
        return
    organisation_id = "" if scope is None or scope is PLATFORM else str(scope.pk)
    platform = "on" if scope is PLATFORM else ""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config(%s, %s, true), set_config(%s, %s, true)",
            [ORGANISATION_SETTING, organisation_id, PLATFORM_SETTING, platform],
        )


@contextmanager
def _database_scope(scope: Organisation | _Platform) -> Iterator[None]:
    """A transaction whose row-level-security settings match `scope`.

    When it is nested in an outer transaction the previous scope is written back on exit, because
    transaction-local settings outlive an inner atomic block.
    """
    nested = connection.in_atomic_block
    previous = _scope.get()
    with transaction.atomic():
        _write_database_scope(scope)
        token = _scope.set(scope)
        try:
            yield
        finally:
            _scope.reset(token)
        # A rolled-back savepoint restores the settings by itself (and allows no more queries).
        restore = nested and not connection.needs_rollback
    if restore:
        _write_database_scope(previous)


@contextmanager
def tenant_transaction(organisation: Organisation) -> Iterator[Organisation]:
    """Open a transaction scoped to `organisation` for both the ORM and row-level security."""
    if organisation is None or organisation.pk is None:
        raise TenantScopeError("tenant_transaction() needs a saved organisation")
    with _database_scope(organisation):
        yield organisation


@contextmanager
def platform_transaction() -> Iterator[None]:
    """Open a transaction that may read and write every organisation's rows."""
    with _database_scope(PLATFORM):
        yield


def on_commit_in_tenant(callback) -> None:
    """Run `callback()` after the current transaction commits, inside the same organisation.

    Plain `transaction.on_commit` callbacks run after the tenant scope has ended, so code that
    touches tenant rows there would find no organisation (and no row-level-security setting).
    """
    organisation = current_organisation()
    if organisation is None:
        raise TenantScopeError("on_commit_in_tenant() needs an organisation in scope")

    def run():
        with tenant_transaction(organisation):
            callback()

    transaction.on_commit(run)


def tenant_cache_key(*parts: object) -> str:
    """A cache key that carries the current organisation, so one tenant never reads another's."""
    return ":".join(["org", str(current_organisation_id()), *map(str, parts)])


class TenantManager(models.Manager):
    """Scoped manager: filters by the current organisation, raises when there is none."""

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(organisation_id=current_organisation_id())


class TenantModel(models.Model):
    """Base for every row an organisation owns.

    `all_organisations` is declared first and named as the default manager so the admin,
    serialisers, related lookups and migrations keep working; request code uses `objects`.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="+"
    )

    all_organisations = models.Manager()
    objects = TenantManager()

    class Meta:
        abstract = True
        default_manager_name = "all_organisations"

    def save(self, *args, **kwargs):
        self.check_tenant()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self.check_tenant()
        return super().delete(*args, **kwargs)

    def check_tenant(self) -> None:
        """Refuse a write outside the current organisation, or one pointing at another's row."""
        scope = _scope.get()
        if scope is None:
            raise TenantScopeError(f"Saving {type(self).__name__} with no organisation in scope")
        if self.organisation_id is None:
            if scope is PLATFORM:
                raise TenantScopeError(f"{type(self).__name__} needs an organisation")
            self.organisation = scope
        elif scope is not PLATFORM and self.organisation_id != scope.pk:
            raise CrossTenantError(
                f"{type(self).__name__} belongs to another organisation than the current one"
            )
        for field in tenant_parent_fields(type(self)):
            self._check_parent(field)

    def _check_parent(self, field: models.ForeignKey) -> None:
        parent_id = getattr(self, field.attname)
        if parent_id is None:
            return
        if field.is_cached(self):
            parent_organisation_id = getattr(self, field.name).organisation_id
        else:
            parent_organisation_id = (
                field.related_model.all_organisations.filter(pk=parent_id)
                .values_list("organisation_id", flat=True)
                .first()
            )
        if parent_organisation_id != self.organisation_id:
            raise CrossTenantError(
                f"{type(self).__name__}.{field.name} points at another organisation's row"
            )


@cache
def tenant_parent_fields(model: type[models.Model]) -> tuple[models.ForeignKey, ...]:
    """Foreign keys from `model` to other tenant models (the references RLS cannot police)."""
    return tuple(
        field
        for field in model._meta.concrete_fields
        if field.many_to_one
        and field.name != "organisation"
        and issubclass(field.related_model, TenantModel)
    )


def tenant_models() -> list[type[TenantModel]]:
    from django.apps import apps

    return [model for model in apps.get_models() if issubclass(model, TenantModel)]
