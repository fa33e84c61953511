"""The outbox: rows saying what to send, the renderers that word them, claims and back-off.

A feature reports a change by calling :func:`queue` inside the change's own transaction, so a
rolled-back change sends nothing and a committed one is never forgotten (invariant 3). The row
names the kind of message, the booking it is about, the recipient, and in ``data`` only what
cannot be read back later. Each feature registers the renderer of its kinds with
:func:`renderer`; the sender renders a row when it is due, outside every lock.

Several senders may run at once. One wins a row by a conditional UPDATE (the row's write lock
makes it atomic), committed before any rendering or network I/O; a claim that outlives its
sender expires and the row is tried again, so delivery is at-least-once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, g, has_request_context, request
from sqlalchemy import Select, literal, literal_column, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, object_session

from bookings.db import UTCDateTime, db, require_unit_of_work, utcnow
from bookings.mail.messages import Rendered
from bookings.mail.models import OutboxMessage

# Set in ``flask.g`` when a request queued mail; the after-request hook then makes one attempt.
QUEUED_FLAG = "mail_queued"

BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)

Renderer = Callable[[OutboxMessage, Session], Rendered]
RoundJob = Callable[[datetime], int]

_renderers: dict[str, Renderer] = {}
_round_jobs: dict[str, RoundJob] = {}
_outbox = OutboxMessage.__table__
# The time the sender renders at: its own clock, or the frozen one a test passed it.
_sending_at: ContextVar[datetime | None] = ContextVar("sending_at", default=None)


class NotSendable(Exception):
    """The message can no longer be sent (its booking was purged or deleted). The text says
    why, for the outbox's record and the log: never a name or an address."""


class NotYet(Exception):
    """The message is not due yet (its event moved later): the sender puts it back until
    ``until`` without counting an attempt."""

    def __init__(self, until: datetime, reason: str = "not due yet") -> None:
        super().__init__(reason)
        self.until = until


def sending_time() -> datetime:
    """When the message being rendered is being sent (a renderer's "now")."""
    return _sending_at.get() or utcnow()


class UnknownKind(Exception):
    """No renderer is registered for the row's kind (the app factory imports them)."""


# ----------------------------------------------------------------------------- writing


def queue(
    kind: str,
    recipient: str,
    *,
    booking_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> OutboxMessage:
    """Add a message to the caller's unit of work, so it is committed with the change it
    reports (invariant 3). Nothing is rendered or sent here."""
    require_unit_of_work("an outbox message")
    message = OutboxMessage(
        kind=kind,
        booking_id=booking_id,
        recipient=recipient.strip(),
        data=data or {},
        site_url=request.root_url if has_request_context() else "",
        attempts=0,
        last_error="",
    )
    db.session.add(message)
    if has_request_context():
        setattr(g, QUEUED_FLAG, True)
    return message


def queue_selected(rows: Select, now: datetime, limit: int) -> int:
    """Queue one message per row of ``rows`` in one ``INSERT … SELECT`` (at most ``limit``):
    its columns are ``kind, booking_id, recipient, site_url, once_key``, in that order. A row
    whose ``once_key`` is already in the outbox is skipped by the database itself
    (``ON CONFLICT DO NOTHING`` on the unique index), so writers racing on several senders
    add each message once. Returns how many were added."""
    require_unit_of_work("outbox messages")
    dialect = db.session.get_bind().dialect.name
    inserter = postgresql.insert if dialect == "postgresql" else sqlite.insert
    empty = literal_column("CAST('{}' AS JSON)" if dialect == "postgresql" else "'{}'")
    stamp = literal(now, UTCDateTime)
    chosen = rows.limit(limit).subquery()
    source = select(*chosen.c, empty, stamp, stamp, literal(0), literal("")).where(
        literal(True)
    )  # SQLite reads "SELECT … ON CONFLICT" only with a WHERE
    statement = inserter(_outbox).from_select(
        [
            "kind",
            "booking_id",
            "recipient",
            "site_url",
            "once_key",
            "data",
            "created_at",
            "next_attempt_at",
            "attempts",
            "last_error",
        ],
        source,
    )
    result = db.session.execute(statement.on_conflict_do_nothing(index_elements=["once_key"]))
    return max(result.rowcount or 0, 0)


def once_queued(key):
    """True where a message with this ``once_key`` is already in the outbox (SQL)."""
    return select(_outbox.c.id).where(_outbox.c.once_key == key).exists()


# ----------------------------------------------------------------------------- rendering


def renderer(kind: str) -> Callable[[Renderer], Renderer]:
    """Register the function that words messages of ``kind`` (one per kind)."""

    def register(function: Renderer) -> Renderer:
        existing = _renderers.get(kind)
        same = existing is None or (
            (existing.__module__, existing.__qualname__)
            == (function.__module__, function.__qualname__)
        )
        if not same:
            raise ValueError(f"mail kind {kind!r} already has a renderer")
        _renderers[kind] = function
        return function

    return register


def render(message: OutboxMessage) -> Rendered:
    """What the message says now, with links to the site it was queued on.

    Raises :class:`NotSendable` when it can no longer be sent and :class:`UnknownKind` when
    its kind has no renderer. Reads through the row's own session.
    """
    prerendered = (message.data or {}).get("prerendered")
    if prerendered:
        # Queued before the outbox stored what to send instead of the text (see migrations).
        return Rendered(**prerendered)
    function = _renderers.get(message.kind)
    if function is None:
        raise UnknownKind(message.kind)
    session = object_session(message) or db.session
    with _site(message.site_url):
        return function(message, session)


@contextmanager
def _site(site_url: str) -> Iterator[None]:
    """Build ``_external`` URLs as the queuing request did (``SERVER_NAME`` may be unset)."""
    context = current_app.test_request_context(base_url=site_url) if site_url else nullcontext()
    with context:
        yield


# ----------------------------------------------------------------------------- claims


@dataclass(frozen=True)
class Claimed:
    """A plain copy of a claimed row: no ORM object or transaction lives across network I/O."""

    id: int
    kind: str
    recipient: str
    attempts: int
    created_at: datetime


def backoff(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failed attempt: 1, 2, 4 ... minutes, at most an hour."""
    doublings = min(max(attempts - 1, 0), 20)  # bounded: a message may fail for weeks
    return min(BACKOFF_FIRST * 2**doublings, BACKOFF_MAX)


def unsent():
    """Neither sent nor withdrawn."""
    return (_outbox.c.sent_at.is_(None), _outbox.c.withdrawn_at.is_(None))


def due(now: datetime):
    """Unsent, its back-off over, and claimed by no live sender."""
    return (
        *unsent(),
        _outbox.c.next_attempt_at <= now,
        or_(_outbox.c.claimed_until.is_(None), _outbox.c.claimed_until < now),
    )


def due_ids(session: Session, now: datetime, limit: int) -> list[int]:
    """The next due messages, oldest first; the read ends here, each claim is its own commit."""
    ids = list(
        session.scalars(
            select(_outbox.c.id)
            .where(*due(now))
            .order_by(_outbox.c.next_attempt_at, _outbox.c.id)
            .limit(limit)
        )
    )
    session.rollback()
    return ids


def claim(session: Session, row_id: int, now: datetime, until: datetime) -> Claimed | None:
    """Claim one message for this sender, or None when another sender has it (or sent it)."""
    try:
        result = session.execute(
            update(_outbox).where(_outbox.c.id == row_id, *due(now)).values(claimed_until=until)
        )
        if result.rowcount != 1:
            session.rollback()
            return None
        row = session.execute(
            select(
                _outbox.c.id,
                _outbox.c.kind,
                _outbox.c.recipient,
                _outbox.c.attempts,
                _outbox.c.created_at,
            ).where(_outbox.c.id == row_id)
        ).one()
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return Claimed(row.id, row.kind, row.recipient, row.attempts or 0, row.created_at)


def render_claimed(session: Session, claimed: Claimed, now: datetime | None = None) -> Rendered:
    """Render a claimed message in a read-only transaction, ended before anything is sent;
    renderers read ``now`` as :func:`sending_time`."""
    token = _sending_at.set(now)
    try:
        message = session.get(OutboxMessage, claimed.id)
        if message is None:  # purged since it was claimed
            raise NotSendable("the message was deleted")
        return render(message)
    finally:
        _sending_at.reset(token)
        session.rollback()


def mark_sent(session: Session, claimed: Claimed, now: datetime) -> None:
    session.execute(
        update(_outbox)
        .where(_outbox.c.id == claimed.id, _outbox.c.sent_at.is_(None))
        .values(sent_at=now, claimed_until=None)
    )
    session.commit()


def mark_failed(session: Session, claimed: Claimed, error: str, now: datetime) -> datetime:
    """Record a failed attempt; returns when the message is due again."""
    retry_at = now + backoff(claimed.attempts + 1)
    session.execute(
        update(_outbox)
        .where(_outbox.c.id == claimed.id, _outbox.c.sent_at.is_(None))
        .values(
            attempts=_outbox.c.attempts + 1,
            last_error=error,
            next_attempt_at=retry_at,
            claimed_until=None,
        )
    )
    session.commit()
    return retry_at


def withdraw(session: Session, claimed: Claimed, reason: str, now: datetime) -> None:
    """Record that the message will never be sent, and why."""
    session.execute(
        update(_outbox)
        .where(_outbox.c.id == claimed.id, _outbox.c.sent_at.is_(None))
        .values(withdrawn_at=now, last_error=f"withdrawn: {reason}", claimed_until=None)
    )
    session.commit()


def defer(session: Session, claimed: Claimed, until: datetime) -> None:
    """Put a message back until it is due (:class:`NotYet`); no attempt is counted."""
    session.execute(
        update(_outbox)
        .where(_outbox.c.id == claimed.id, _outbox.c.sent_at.is_(None))
        .values(next_attempt_at=until, claimed_until=None)
    )
    session.commit()


# ----------------------------------------------------------------------------- work before a round


def every_round(name: str) -> Callable[[RoundJob], RoundJob]:
    """Register work that falls due with time, done by the sender before each round: writing
    scheduled messages, releasing held places. ``job(now)`` runs in a unit of work of its own
    and returns how many things it did. Several senders run it at once, so each job must make
    its own work happen once (a lock or a unique key), never rely on being alone."""

    def register(job: RoundJob) -> RoundJob:
        _round_jobs[name] = job
        return job

    return register


def round_jobs() -> dict[str, RoundJob]:
    return dict(_round_jobs)
