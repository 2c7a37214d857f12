"""PostgreSQL row-level security for tenant tables, written once as a migration operation.

Every migration that creates a tenant table (or adds a foreign key between tenant tables) ends
with `TenantRowLevelSecurity("ModelName")`. On PostgreSQL it:

* enables and forces RLS (FORCE so the table owner is policed too) with one policy for reads and
  writes: the row's organisation is the transaction's `app.organisation_id`, or the transaction
  has explicitly asked for platform access;
* adds a unique key on (organisation_id, id) and, for each foreign key to another tenant table, a
  composite foreign key (organisation_id, parent_id) -> parent (organisation_id, id), because
  plain foreign-key checks bypass RLS and would let a row point at another tenant's parent.

On SQLite it does nothing; the application layer (TenantModel.check_tenant) enforces the same
rules there.
"""

from django.db import connection
from django.db.migrations.operations.base import Operation

from organisations.tenancy import ORGANISATION_SETTING, PLATFORM_SETTING

POLICY_NAME = "tenant_isolation"
POLICY_PREDICATE = (
    f"organisation_id = nullif((SELECT current_setting('{ORGANISATION_SETTING}', true)), '')::uuid"
    f" OR (SELECT current_setting('{PLATFORM_SETTING}', true)) = 'on'"
)


def _is_tenant_model(model) -> bool:
    field = next((f for f in model._meta.concrete_fields if f.name == "organisation"), None)
    return (
        field is not None
        and field.many_to_one
        and field.related_model._meta.label == "organisations.Organisation"
    )


def _tenant_foreign_keys(model):
    return [
        field
        for field in model._meta.concrete_fields
        if field.many_to_one
        and field.name != "organisation"
        and _is_tenant_model(field.related_model)
    ]


def _constraint_exists(cursor, name: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_constraint WHERE conname = %s", [name])
    return cursor.fetchone() is not None


def tenant_key_name(table: str) -> str:
    return f"{table}_org_id_key"[:63]


def tenant_fk_name(table: str, column: str) -> str:
    return f"{table}_{column}_same_org_fk"[:63]


class TenantRowLevelSecurity(Operation):
    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str):
        self.model_name = model_name

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.model_name], {})

    def describe(self):
        return f"Row-level security and same-organisation keys for {self.model_name}"

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        table = schema_editor.quote_name(model._meta.db_table)
        with schema_editor.connection.cursor() as cursor:
            schema_editor.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            schema_editor.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            schema_editor.execute(f"DROP POLICY IF EXISTS {POLICY_NAME} ON {table}")
            schema_editor.execute(
                f"CREATE POLICY {POLICY_NAME} ON {table} "
                f"USING ({POLICY_PREDICATE}) WITH CHECK ({POLICY_PREDICATE})"
            )
            key = tenant_key_name(model._meta.db_table)
            if not _constraint_exists(cursor, key):
                schema_editor.execute(
                    f"ALTER TABLE {table} ADD CONSTRAINT {key} UNIQUE (organisation_id, id)"
                )
            for field in _tenant_foreign_keys(model):
                name = tenant_fk_name(model._meta.db_table, field.column)
                if _constraint_exists(cursor, name):
                    continue
                parent = field.related_model._meta.db_table
                schema_editor.execute(
                    f"ALTER TABLE {table} ADD CONSTRAINT {name} "
                    f"FOREIGN KEY (organisation_id, {schema_editor.quote_name(field.column)}) "
                    f"REFERENCES {schema_editor.quote_name(parent)} (organisation_id, id) "
                    "DEFERRABLE INITIALLY DEFERRED"
                )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        model = from_state.apps.get_model(app_label, self.model_name)
        table = schema_editor.quote_name(model._meta.db_table)
        for field in _tenant_foreign_keys(model):
            name = tenant_fk_name(model._meta.db_table, field.column)
            schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}")
        schema_editor.execute(f"DROP POLICY IF EXISTS {POLICY_NAME} ON {table}")
        schema_editor.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        schema_editor.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")


def grant_app_role(role: str) -> None:
    """Give the application role ordinary data rights on every table (not ownership, so RLS
    applies to it). Run after each migrate; a missing role is left for deploy to create."""
    if connection.vendor != "postgresql" or not role:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            return
        quoted = connection.ops.quote_name(role)
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {quoted}")
        cursor.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}"
        )
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}")
