"""outbox rows say what to send; the sender renders them when due

Drops the rendered subject, bodies and calendar file; adds ``data`` (what a message cannot read
back later), ``site_url`` (the site its links point to) and ``withdrawn_at`` (never to be sent,
e.g. its booking was purged).

Messages still unsent at the upgrade keep their text: it moves into ``data["prerendered"]``,
which the sender sends as it is, so an upgrade during a mail outage loses nothing. Sent
messages lose their copies of the text (the personal data they held goes with them).

Revision ID: c4b1e0a7d2f3
Revises: 9c48ed3889bc
Create Date: 2026-11-25 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import bookings.db


# revision identifiers, used by Alembic.
revision = 'c4b1e0a7d2f3'
down_revision = "9c48ed3889bc"
branch_labels = None
depends_on = None

RENDERED = ('subject', 'body_text', 'body_html', 'ics', 'ics_filename')


def _outbox(*extra):
    return sa.table(
        'outbox',
        sa.column('id', sa.Integer()),
        sa.column('sent_at', bookings.db.UTCDateTime(timezone=True)),
        *extra,
    )


def upgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('data', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('site_url', sa.String(length=300), nullable=True))
        batch_op.add_column(
            sa.Column('withdrawn_at', bookings.db.UTCDateTime(timezone=True), nullable=True)
        )

    outbox = _outbox(
        sa.column('data', sa.JSON()),
        sa.column('site_url', sa.String()),
        *(sa.column(name, sa.Text()) for name in RENDERED),
    )
    connection = op.get_bind()
    unsent = connection.execute(
        sa.select(outbox.c.id, *(outbox.c[name] for name in RENDERED)).where(
            outbox.c.sent_at.is_(None)
        )
    ).all()
    for row in unsent:
        prerendered = {
            'subject': row.subject,
            'body_text': row.body_text,
            'body_html': row.body_html or '',
            'ics': row.ics,
            'ics_filename': row.ics_filename or 'event.ics',
        }
        connection.execute(
            outbox.update()
            .where(outbox.c.id == row.id)
            .values(data={'prerendered': prerendered})
        )
    connection.execute(outbox.update().where(outbox.c.data.is_(None)).values(data={}))
    connection.execute(outbox.update().values(site_url=''))

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('data', existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column('site_url', existing_type=sa.String(length=300), nullable=False)
        for name in RENDERED:
            batch_op.drop_column(name)


def downgrade():
    """Only messages queued before the upgrade still have their text; refuse to invent it
    for the others (send them first: ``flask --app bookings mail send``)."""
    outbox = _outbox(
        sa.column('data', sa.JSON()),
        sa.column('withdrawn_at', bookings.db.UTCDateTime(timezone=True)),
    )
    connection = op.get_bind()
    pending = connection.execute(
        sa.select(outbox.c.id, outbox.c.data).where(
            outbox.c.sent_at.is_(None), outbox.c.withdrawn_at.is_(None)
        )
    ).all()
    unrendered = [row.id for row in pending if not (row.data or {}).get('prerendered')]
    if unrendered:
        raise RuntimeError(
            f'{len(unrendered)} queued e-mail(s) have no text yet; send them first '
            '(flask --app bookings mail send) or the downgrade would lose them'
        )

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('subject', sa.String(length=300), nullable=False, server_default='')
        )
        batch_op.add_column(sa.Column('body_text', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('body_html', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('ics', sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column(
                'ics_filename', sa.String(length=120), nullable=False, server_default='event.ics'
            )
        )

    restored = _outbox(*(sa.column(name, sa.Text()) for name in RENDERED))
    for row in pending:
        connection.execute(
            restored.update().where(restored.c.id == row.id).values(**row.data['prerendered'])
        )
    # Withdrawn messages were never to be sent: the old sender must not pick them up.
    connection.execute(
        outbox.update()
        .where(outbox.c.withdrawn_at.is_not(None))
        .values(sent_at=outbox.c.withdrawn_at)
    )

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('subject', existing_type=sa.String(length=300), server_default=None)
        batch_op.alter_column('body_text', existing_type=sa.Text(), server_default=None)
        batch_op.alter_column('body_html', existing_type=sa.Text(), server_default=None)
        batch_op.alter_column(
            'ics_filename', existing_type=sa.String(length=120), server_default=None
        )
        batch_op.drop_column('withdrawn_at')
        batch_op.drop_column('site_url')
        batch_op.drop_column('data')
