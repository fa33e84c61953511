"""Team bookings: a booker's group of bookings, reached by its own secret link

Revision ID: f1b7d2c8a4e6
Revises: e7a3c5d1f209
Create Date: 2026-12-02 01:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import bookings.db


# revision identifiers, used by Alembic.
revision = 'f1b7d2c8a4e6'
down_revision = 'e7a3c5d1f209'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('booking_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('token_salt', sa.String(length=32), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('booker_name', sa.String(length=120), nullable=False),
    sa.Column('booker_email', sa.String(length=254), nullable=False),
    sa.Column('created_at', bookings.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('purged_at', bookings.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_booking_groups_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking_groups')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_booking_groups_token_hash'))
    )
    with op.batch_alter_table('booking_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_groups_event_id'), ['event_id'], unique=False)

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_bookings_group_id'), ['group_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_bookings_group_id_booking_groups'), 'booking_groups', ['group_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_bookings_group_id_booking_groups'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_bookings_group_id'))
        batch_op.drop_column('group_id')

    with op.batch_alter_table('booking_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booking_groups_event_id'))

    op.drop_table('booking_groups')
