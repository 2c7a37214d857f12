"""PostgreSQL refuses two appointments of a location that hold time over overlapping intervals.

The interval is the appointment with its buffers (`blocked_start`, `blocked_end`), half-open so
back-to-back appointments are allowed. Cancelled appointments free their time. `btree_gist` lets
the GiST index compare the equality columns. SQLite skips this (see calendars.operations).
"""

from django.db import migrations

from calendars.operations import PostgresOnlySQL

CONSTRAINT = "appointment_no_overlap"


class Migration(migrations.Migration):
    dependencies = [("calendars", "0001_initial")]

    operations = [
        PostgresOnlySQL(
            "CREATE EXTENSION IF NOT EXISTS btree_gist",
            reverse_sql=migrations.RunSQL.noop,
        ),
        PostgresOnlySQL(
            f"""
            ALTER TABLE calendars_appointment ADD CONSTRAINT {CONSTRAINT}
            EXCLUDE USING gist (
                organisation_id WITH =,
                location_id WITH =,
                tstzrange(blocked_start, blocked_end, '[)') WITH &&
            ) WHERE (status <> 'cancelled')
            """,
            reverse_sql=f"ALTER TABLE calendars_appointment DROP CONSTRAINT {CONSTRAINT}",
        ),
    ]
