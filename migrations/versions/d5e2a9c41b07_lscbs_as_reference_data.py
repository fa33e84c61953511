"""LSCBs as reference data; every booking records one

Seeds London's 32 boroughs' boards and the City of London's, then "Outside London" and "Not
linked to an LSCB" (bookings/demo/board.toml lists the same). Bookings made before the upgrade
never said, so they record "Not linked to an LSCB".

Revision ID: d5e2a9c41b07
Revises: c4b1e0a7d2f3
Create Date: 2026-12-02 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd5e2a9c41b07'
down_revision = 'c4b1e0a7d2f3'
branch_labels = None
depends_on = None

LONDON = (
    "Barking and Dagenham", "Barnet", "Bexley", "Brent", "Bromley", "Camden", "City of London",
    "Croydon", "Ealing", "Enfield", "Greenwich", "Hackney", "Hammersmith and Fulham", "Haringey",
    "Harrow", "Havering", "Hillingdon", "Hounslow", "Islington", "Kensington and Chelsea",
    "Kingston upon Thames", "Lambeth", "Lewisham", "Merton", "Newham", "Redbridge",
    "Richmond upon Thames", "Southwark", "Sutton", "Tower Hamlets", "Waltham Forest",
    "Wandsworth", "Westminster",
)
NOT_LINKED = "Not linked to an LSCB"


def upgrade():
    lscbs = op.create_table('lscbs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('retired', sa.Boolean(), nullable=False),
    sa.Column('kind', sa.Enum('london', 'outside', 'none', name='lscb_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lscbs')),
    sa.UniqueConstraint('name', name=op.f('uq_lscbs_name'))
    )
    rows = [{'name': name, 'kind': 'london'} for name in LONDON]
    rows += [{'name': 'Outside London', 'kind': 'outside'}, {'name': NOT_LINKED, 'kind': 'none'}]
    op.bulk_insert(
        lscbs,
        [{'id': n, 'position': n, 'retired': False, **row} for n, row in enumerate(rows, start=1)],
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("SELECT setval('lscbs_id_seq', (SELECT max(id) FROM lscbs))")

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lscb_id', sa.Integer(), nullable=True))
    op.execute(
        sa.text('UPDATE bookings SET lscb_id = (SELECT id FROM lscbs WHERE name = :name)')
        .bindparams(name=NOT_LINKED)
    )
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.alter_column('lscb_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_bookings_lscb_id_lscbs'), 'lscbs', ['lscb_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_bookings_lscb_id'), ['lscb_id'], unique=False)
        batch_op.create_index('ix_bookings_lscb_stats', ['event_id', 'lscb_id', 'status', 'attended_at'], unique=False)


def downgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_bookings_lscb_stats')
        batch_op.drop_index(batch_op.f('ix_bookings_lscb_id'))
        batch_op.drop_constraint(batch_op.f('fk_bookings_lscb_id_lscbs'), type_='foreignkey')
        batch_op.drop_column('lscb_id')
    op.drop_table('lscbs')
