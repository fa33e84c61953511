"""Scheduled messages: an event's settings per kind, and the outbox's once-only key

Revision ID: e7a3c5f19d20
Revises: d5e2a9c41b07
Create Date: 2026-12-02 01:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e7a3c5f19d20'
down_revision = '160246765106'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scheduled_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('joining', 'reminder', 'thanks', 'missed', name='scheduled_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('at', sa.Time(), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('intro', sa.Text(), nullable=False),
    sa.Column('briefing', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id', 'kind', name='uq_scheduled_settings_kind')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('once_key', sa.String(length=80), nullable=True))
        batch_op.create_index('uq_outbox_once_key', ['once_key'], unique=True)


def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('uq_outbox_once_key')
        batch_op.drop_column('once_key')
    op.drop_table('scheduled_settings')
