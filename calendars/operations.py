"""Migration operations that only mean something on PostgreSQL.

SQLite must migrate too (local runs, the SQLite test run), so PostgreSQL-only schema such as the
appointments' exclusion constraint is written as SQL that is skipped on other databases. The
constraint is not declared in model Meta for the same reason: `makemigrations` would then try to
create it on SQLite.
"""

from django.db import migrations


class PostgresOnlySQL(migrations.RunSQL):
    """RunSQL that does nothing on databases other than PostgreSQL."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
