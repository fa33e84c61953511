"""An index the booking's count of places reads alone, never the table: the count runs under
the event's lock, so it is what every other booking at the event waits for.

Revision ID: b8d4f2a6c913
Revises: a3c9e5f71b24
Create Date: 2026-12-02 05:30:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b8d4f2a6c913'
down_revision = 'a3c9e5f71b24'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index(
            'ix_bookings_places',
            ['event_id', 'status', 'sector_id', 'allocation_id', 'email_key'],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_bookings_places')
