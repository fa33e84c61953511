"""Certificates keep what they say: the event's title and date, the hours and the level as
issued, so that the verification page confirms what was printed. Empty for certificates issued
before this revision, which still show the event's current facts.

Revision ID: a3c9e5f71b24
Revises: f1b7d2c8a4e6
Create Date: 2026-12-02 02:35:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a3c9e5f71b24'
down_revision = 'f1b7d2c8a4e6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event_title', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('event_date', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('learning_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('level', sa.String(length=60), nullable=True))


def downgrade():
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_column('level')
        batch_op.drop_column('learning_minutes')
        batch_op.drop_column('event_date')
        batch_op.drop_column('event_title')
