"""The outbox: rows saying what to send, the renderers that word them, claims and back-off.

A feature reports a change by calling :func:`queue` inside the change's own transaction, so a
rolled-back change sends nothing and a committed one is never forgotten (invariant 3). The row
names the kind of message, the booking it is about, the recipient, and in ``data`` only what
cannot be read back later. Each feature registers the renderer of its kinds with
:func:`renderer`; the sender renders a row when it is due, outside every lock.

Several senders may run at once. One wins a batch of rows by a conditional UPDATE (the rows'
write locks make it atomic), committed before any rendering or network I/O; a claim that
outlives its sender expires and the rows are tried again, so delivery is at-least-once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
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
Preloader = Callable[[Session, list[OutboxMessage]], None]
RoundJob = Callable[[datetime], int]

_renderers: dict[str, Renderer] = {}
_preloaders: dict[str, Preloader] = {}
_round_jobs: dict[str, RoundJob] = {}
_outbox = OutboxMessage.__table__
# The time the sender renders at: its own clock, or the frozen one a test passed it.
_sending_at: ContextVar[datetime | None] = ContextVar("sending_at", default=None)
_BATCH_MEMO = "bookings.mail.batch_memo"


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


def preloader(*kinds: str) -> Callable[[Preloader], Preloader]:
    """Register what loads, in a few queries, the records the renderer of ``kinds`` reads for
    a whole batch of rows (into the session, where ``session.get`` then finds them), so a
    batch does not cost a query per message. Optional: without one, the renderer reads."""

    def register(function: Preloader) -> Preloader:
        for kind in kinds:
            _preloaders[kind] = function
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


def claim(session: Session, now: datetime, until: datetime, limit: int) -> list[Claimed]:
    """Claim up to ``limit`` due messages for this sender in one statement and one commit,
    oldest first; none is another live sender's.

    The ``UPDATE`` repeats the due test on each row it changes, so when two senders pick the
    same rows the row lock makes the second re-check them and leave them (PostgreSQL re-reads
    a row a concurrent transaction changed; SQLite runs one writer at a time). On PostgreSQL
    ``SKIP LOCKED`` lets the second pick other rows instead of waiting for the first.
    """
    chosen = (
        select(_outbox.c.id)
        .where(*due(now))
        .order_by(_outbox.c.next_attempt_at, _outbox.c.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # A CTE, evaluated once: PostgreSQL may rescan a plain ``IN (… LIMIT n)`` subquery
        # and so claim more than ``limit`` rows.
        picked = chosen.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
        chosen = select(picked.c.id)
    statement = (
        update(_outbox)
        .where(_outbox.c.id.in_(chosen.scalar_subquery()), *due(now))
        .values(claimed_until=until)
        .returning(
            _outbox.c.id,
            _outbox.c.kind,
            _outbox.c.recipient,
            _outbox.c.attempts,
            _outbox.c.created_at,
        )
    )
    try:
        rows = session.execute(statement).all()
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return sorted(
        (Claimed(r.id, r.kind, r.recipient, r.attempts or 0, r.created_at) for r in rows),
        key=lambda claimed: claimed.id,
    )


def render_claimed(
    session: Session, batch: list[Claimed], now: datetime | None = None
) -> dict[int, Rendered | Exception]:
    """Render a claimed batch in one read-only transaction, ended before anything is sent:
    each message's text, or the exception that stopped it (:class:`NotSendable`,
    :class:`NotYet`, a renderer's failure). The rows are read in one query and each kind's
    :func:`preloader` loads what its renderer reads for the whole batch; renderers read
    ``now`` as :func:`sending_time`."""
    token = _sending_at.set(now)
    outcomes: dict[int, Rendered | Exception] = {}
    session.info[_BATCH_MEMO] = {}
    try:
        rows = {
            row.id: row
            for row in session.scalars(
                select(OutboxMessage).where(OutboxMessage.id.in_([c.id for c in batch]))
            )
        }
        kinds: dict[str, list[OutboxMessage]] = {}
        for row in rows.values():
            kinds.setdefault(row.kind, []).append(row)
        for kind, of_kind in kinds.items():
            preload = _preloaders.get(kind)
            if preload is not None:
                preload(session, of_kind)
        for claimed in batch:
            row = rows.get(claimed.id)
            try:
                if row is None:  # purged since it was claimed
                    raise NotSendable("the message was deleted")
                outcomes[claimed.id] = render(row)
            except Exception as exc:
                outcomes[claimed.id] = exc
        return outcomes
    finally:
        _sending_at.reset(token)
        session.info.pop(_BATCH_MEMO, None)
        session.rollback()


def batch_memo(session: Session) -> dict[Any, Any] | None:
    """A dict that lives while one batch is rendered, for a :func:`preloader` to leave what
    it read for its renderer (records that ``session.get`` cannot find); None outside."""
    return session.info.get(_BATCH_MEMO)


@dataclass
class Outcomes:
    """What became of a delivered batch, recorded together by :func:`record`."""

    sent: list[Claimed] = field(default_factory=list)
    failed: list[tuple[Claimed, str]] = field(default_factory=list)
    withdrawn: list[tuple[Claimed, str]] = field(default_factory=list)
    deferred: list[tuple[Claimed, datetime]] = field(default_factory=list)
    # Not tried: the batch outran its claim. Put back as they were, no attempt counted.
    released: list[Claimed] = field(default_factory=list)


def record(session: Session, outcomes: Outcomes, now: datetime, until: datetime) -> None:
    """Record a batch's outcomes in one commit. Each update spares a row already sent, and a
    release one that another sender has claimed since this batch's claim (``until``) ran out."""
    unsent_row = _outbox.c.sent_at.is_(None)
    try:
        if outcomes.sent:
            session.execute(
                update(_outbox)
                .where(_outbox.c.id.in_([c.id for c in outcomes.sent]), unsent_row)
                .values(sent_at=now, claimed_until=None)
            )
        if outcomes.released:
            session.execute(
                update(_outbox)
                .where(
                    _outbox.c.id.in_([c.id for c in outcomes.released]),
                    unsent_row,
                    _outbox.c.claimed_until == until,
                )
                .values(claimed_until=None)
            )
        for claimed, error in outcomes.failed:
            session.execute(
                update(_outbox)
                .where(_outbox.c.id == claimed.id, unsent_row)
                .values(
                    attempts=_outbox.c.attempts + 1,
                    last_error=error,
                    next_attempt_at=retry_at(claimed, now),
                    claimed_until=None,
                )
            )
        for claimed, reason in outcomes.withdrawn:
            session.execute(
                update(_outbox)
                .where(_outbox.c.id == claimed.id, unsent_row)
                .values(withdrawn_at=now, last_error=f"withdrawn: {reason}", claimed_until=None)
            )
        for claimed, until in outcomes.deferred:
            session.execute(
                update(_outbox)
                .where(_outbox.c.id == claimed.id, unsent_row)
                .values(next_attempt_at=until, claimed_until=None)
            )
        session.commit()
    except BaseException:
        session.rollback()
        raise


def retry_at(claimed: Claimed, now: datetime) -> datetime:
    """When a message that failed now is due again."""
    return now + backoff(claimed.attempts + 1)


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
