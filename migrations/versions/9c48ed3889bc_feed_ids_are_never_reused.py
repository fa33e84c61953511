"""feed ids are never re-used: AUTOINCREMENT on SQLite for events, sessions and meetings

The ids of these tables are in the feeds' UIDs (``event-12@...``). Without AUTOINCREMENT, SQLite
gives a new row the highest id plus one, so deleting the newest session and adding another hands
out the deleted one's id, and with it its UID at SEQUENCE 0: a subscriber's calendar then
overwrites one entry with another. PostgreSQL sequences never re-use a value, so nothing changes
there.

SQLite can only add AUTOINCREMENT by rebuilding the table; ``migrations/env.py`` turns foreign
keys off around the run (SQLite's documented procedure), so that dropping the old table neither
cascades into the rows that refer to it nor is refused, and this migration checks every
reference before its commit. An id deleted before this migration cannot be known any more; from
now on none is handed out twice.

Revision ID: 9c48ed3889bc
Revises: 9dcea341adb8
Create Date: 2026-11-30 10:00:00.000000

"""

from alembic import op

revision = "9c48ed3889bc"
down_revision = "9dcea341adb8"
branch_labels = None
depends_on = None

TABLES = ("events", "programme_slots", "meetings")


def _rebuild(autoincrement: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError(
            "SQLite foreign keys are on: rebuilding a table would delete the rows that refer "
            "to it. Run this migration through migrations/env.py (flask db upgrade)."
        )
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass
    broken = bind.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise RuntimeError(f"references broken by the rebuild: {broken[:5]}")


def upgrade():
    _rebuild(autoincrement=True)


def downgrade():
    _rebuild(autoincrement=False)
