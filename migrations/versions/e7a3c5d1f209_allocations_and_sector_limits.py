"""places held for LSCBs (allocations) and sectors' floors and caps

Adds ``allocations`` (N places of an event held for one LSCB, with the secret of its booking
link), ``sector_limits`` (a sector's floor and cap as percentages of capacity), the event's
release time and release stamp, and the allocation a booking took.

Revision ID: e7a3c5d1f209
Revises: d5e2a9c41b07
Create Date: 2026-12-02 01:20:00.000000

"""
from alembic import op
import sqlalchemy as sa

import bookings.db


# revision identifiers, used by Alembic.
revision = 'e7a3c5d1f209'
down_revision = "5e28590c5c83"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('allocations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('lscb_id', sa.Integer(), nullable=False),
    sa.Column('reserved', sa.Integer(), nullable=False),
    sa.Column('token_salt', sa.String(length=32), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', bookings.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('reserved >= 0', name=op.f('ck_allocations_reserved_not_negative')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_allocations_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['lscb_id'], ['lscbs.id'], name=op.f('fk_allocations_lscb_id_lscbs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocations')),
    sa.UniqueConstraint('event_id', 'lscb_id', name=op.f('uq_allocations_event_id')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_allocations_token_hash'))
    )
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocations_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_allocations_lscb_id'), ['lscb_id'], unique=False)

    op.create_table('sector_limits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('sector_id', sa.Integer(), nullable=False),
    sa.Column('min_percent', sa.Integer(), nullable=True),
    sa.Column('max_percent', sa.Integer(), nullable=True),
    sa.Column('until', bookings.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('min_percent IS NULL OR min_percent BETWEEN 0 AND 100', name=op.f('ck_sector_limits_min_percent')),
    sa.CheckConstraint('max_percent IS NULL OR max_percent BETWEEN 0 AND 100', name=op.f('ck_sector_limits_max_percent')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_sector_limits_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sector_id'], ['sectors.id'], name=op.f('fk_sector_limits_sector_id_sectors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sector_limits')),
    sa.UniqueConstraint('event_id', 'sector_id', name=op.f('uq_sector_limits_event_id'))
    )
    with op.batch_alter_table('sector_limits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sector_limits_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sector_limits_sector_id'), ['sector_id'], unique=False)

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('allocations_release_at', bookings.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('allocations_released_at', bookings.db.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('allocation_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_bookings_allocation_id_allocations'), 'allocations', ['allocation_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index(batch_op.f('ix_bookings_allocation_id'), ['allocation_id'], unique=False)


def downgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bookings_allocation_id'))
        batch_op.drop_constraint(batch_op.f('fk_bookings_allocation_id_allocations'), type_='foreignkey')
        batch_op.drop_column('allocation_id')

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('allocations_released_at')
        batch_op.drop_column('allocations_release_at')

    op.drop_table('sector_limits')
    op.drop_table('allocations')
