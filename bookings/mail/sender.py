"""The sender: claim a batch of due messages, render them, deliver them, record the outcomes.

Several senders may run at once (the after-request attempt in each server process, and any
number of ``flask --app bookings mail send --watch``): to send faster, run more of them. A
batch is claimed with its own short commit (:mod:`bookings.mail.outbox`) and rendered in one
read-only transaction that ends before any network I/O, so no database transaction or lock is
ever held while talking to the mail server. The batch then goes over one connection, and one
commit records for each message ``sent_at`` (never sent again), a withdrawal (the message can
no longer be sent, e.g. its booking was purged), or a failure: the attempt count, a short
error without personal data, and the time of the next attempt (back-off from 1 minute
doubling to 1 hour). A batch that outruns its claim puts its untried messages back. A sender
that dies mid-batch leaves its claim to expire, after which the batch's unrecorded messages
are retried; in that one case a message may arrive twice (at-least-once delivery), which its
stable Message-ID lets mail clients recognise.

Nothing here logs names, addresses, subjects, bodies or manage links: this is child-protection
work, and logs travel further than the database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bookings.db import db, unit_of_work, utcnow
from bookings.mail import messages, outbox
from bookings.mail.outbox import QUEUED_FLAG, Claimed, NotSendable, NotYet, backoff
from bookings.mail.transport import (
    FileOutlet,
    Outlet,
    breaks_connection,
    describe_error,
    outlet_for,
)

__all__ = [
    "SendReport",
    "backoff",
    "describe_error",
    "retry_now",
    "run_round_jobs",
    "send_all_due",
    "send_due",
]

logger = logging.getLogger("bookings.mail")

# A claim must outlast one delivery: about ten SMTP round trips (connect, EHLO, STARTTLS, AUTH,
# MAIL, RCPT, DATA, QUIT...), each bounded by MAIL_TIMEOUT. Never shorter than a minute.
CLAIM_ROUND_TRIPS = 12
CLAIM_MIN = timedelta(minutes=1)
# Each further message on an open connection: MAIL, RCPT, DATA and its end.
ROUND_TRIPS_EACH = 4
# Messages claimed, rendered and recorded together. Larger batches save commits but make the
# claim longer, and so the wait before a dead sender's messages are retried (25 messages with
# MAIL_TIMEOUT 10 s: about 19 minutes).
CLAIM_BATCH = 25
# The after-request attempt stays small: it occupies the server process that ran the request.
AFTER_REQUEST_LIMIT = 10

_outbox = outbox.OutboxMessage.__table__


@dataclass
class SendReport:
    """What one ``send_due`` run did. ``released``: claimed but put back untried, the batch
    having outrun its claim; ``withdrawn``: no longer sendable, recorded and never tried
    again; ``deferred``: not due after all (its event moved), put back until it is."""

    sent: int = 0
    failed: int = 0
    released: int = 0
    withdrawn: int = 0
    deferred: int = 0
    written: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return self.sent + self.failed

    @property
    def handled(self) -> int:
        """Messages this run claimed."""
        return self.sent + self.failed + self.released + self.withdrawn + self.deferred

    def add(self, other: SendReport) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.released += other.released
        self.withdrawn += other.withdrawn
        self.deferred += other.deferred
        self.written += other.written
        self.errors += other.errors


def _delivery_length(app: Flask) -> timedelta:
    """The longest one delivery on a fresh connection can take."""
    timeout = float(app.config.get("MAIL_TIMEOUT") or 10)
    return timedelta(seconds=timeout * CLAIM_ROUND_TRIPS)


def _claim_length(app: Flask, size: int) -> timedelta:
    """Long enough for a batch of ``size``: a connection, then each message's round trips."""
    timeout = float(app.config.get("MAIL_TIMEOUT") or 10)
    one = _delivery_length(app)
    return max(CLAIM_MIN, one + timedelta(seconds=timeout * ROUND_TRIPS_EACH * size))


def send_due(limit: int = 50, now: datetime | None = None) -> SendReport:
    """Deliver up to ``limit`` due messages; needs an app context.

    Uses its own database session, so it neither commits nor rolls back the caller's work.
    Messages go in claimed batches of at most ``CLAIM_BATCH``: one commit claims a batch, one
    read-only transaction renders it, one connection delivers it and one commit records what
    became of each message. When the server cannot be reached, every message of this run is
    recorded as a failed attempt (and backed off) without trying the server again for each.
    """
    app = current_app._get_current_object()
    report = SendReport()
    outlet = outlet_for(app)
    run = _Run(app, outlet, now)
    try:
        with Session(db.engine) as session:
            while report.handled < limit:
                size = min(limit - report.handled, CLAIM_BATCH)
                # The clock is read for each batch: a slow server can make a run outlast a
                # claim, and a claim made with a stale clock could expire as it is made.
                claimed_at = run.now()
                until = claimed_at + _claim_length(app, size)
                batch = outbox.claim(session, claimed_at, until, size)
                if batch:
                    report.add(run.send(session, batch, claimed_at, until))
                if len(batch) < size:
                    break
    finally:
        outlet.close()
    if isinstance(outlet, FileOutlet):
        report.written = outlet.written
    return report


class _Run:
    """One ``send_due``: its outlet, its clock, and whether the server is known unreachable."""

    def __init__(self, app: Flask, outlet: Outlet, fixed_now: datetime | None) -> None:
        self.outlet = outlet
        self.fixed_now = fixed_now
        self.sender = messages.SenderAddress.of(app.config)
        self.domain = self.sender.domain or app.config["CALENDAR_UID_DOMAIN"]
        self.delivery = _delivery_length(app)
        self.broken: str | None = None

    def now(self) -> datetime:
        return self.fixed_now or utcnow()

    def send(
        self, session: Session, batch: list[Claimed], claimed_at: datetime, until: datetime
    ) -> SendReport:
        report = SendReport()
        outcomes = outbox.Outcomes()
        rendered = outbox.render_claimed(session, batch, claimed_at)
        for claimed in batch:
            text = rendered[claimed.id]
            if isinstance(text, NotYet):
                outcomes.deferred.append((claimed, text.until))
                report.deferred += 1
                continue
            if isinstance(text, NotSendable):
                outcomes.withdrawn.append((claimed, str(text)))
                report.withdrawn += 1
                logger.info("mail #%d (%s) withdrawn: %s", claimed.id, claimed.kind, text)
                continue
            if self.fixed_now is None and utcnow() + self.delivery > until:
                # The batch outran its claim: another sender may take the rest any moment.
                outcomes.released.append(claimed)
                report.released += 1
                continue
            error = self.broken
            if error is None and isinstance(text, Exception):
                error = describe_error(text)
            if error is None:
                try:
                    message = messages.build(
                        text,
                        claimed.recipient,
                        self.sender,
                        messages.message_id(claimed.id, claimed.created_at, self.domain),
                    )
                    outcome = self.outlet.deliver(message, claimed.id, claimed.kind)
                except Exception as exc:
                    error = describe_error(exc)
                    if breaks_connection(exc):
                        self.broken = error
                        self.outlet.close()
                else:
                    outcomes.sent.append(claimed)
                    report.sent += 1
                    logger.info("mail #%d (%s) %s", claimed.id, claimed.kind, outcome)
                    continue
            outcomes.failed.append((claimed, error))
            report.failed += 1
            report.errors.append(error)
            logger.warning(
                "mail #%d (%s) not sent (attempt %d), next attempt %s: %s",
                claimed.id,
                claimed.kind,
                claimed.attempts + 1,
                f"{outbox.retry_at(claimed, claimed_at):%Y-%m-%d %H:%M} UTC",
                error,
            )
        outbox.record(session, outcomes, claimed_at, until)
        return report


def run_round_jobs(now: datetime | None = None) -> dict[str, int]:
    """Do the work registered with ``every_round``, each job in its own unit of work; a job
    that fails is logged and rolled back, and the others still run. Returns what each did."""
    done: dict[str, int] = {}
    for name, job in outbox.round_jobs().items():
        try:
            with unit_of_work():
                done[name] = job(now or utcnow())
        except Exception as exc:
            logger.warning("mail: %s failed: %s", name, describe_error(exc))
            db.session.remove()
    return done


def send_all_due(batch: int = 50, now: datetime | None = None) -> SendReport:
    """Do the work that fell due, then send batches until nothing due is left for this sender
    (``mail send``); ``now`` freezes the clock for both."""
    run_round_jobs(now)
    total = SendReport()
    while True:
        report = send_due(limit=batch, now=now)
        total.add(report)
        if report.handled < batch:
            return total


def retry_now(now: datetime | None = None) -> int:
    """Make every failed, unsent message due now, ignoring its back-off. Returns how many."""
    now = now or utcnow()
    with Session(db.engine) as session:
        result = session.execute(
            update(_outbox)
            .where(*outbox.unsent(), _outbox.c.attempts > 0)
            .values(next_attempt_at=now)
        )
        session.commit()
        return result.rowcount


# ----------------------------------------------------------------------------- status


@dataclass(frozen=True)
class FailingMessage:
    id: int
    kind: str
    attempts: int
    next_attempt_at: datetime
    last_error: str


@dataclass(frozen=True)
class OutboxStatus:
    queued: int  # unsent, never tried
    failing: int  # unsent, tried at least once
    due: int  # unsent and due now
    sent: int
    withdrawn: int  # never to be sent (the booking was purged)
    oldest_unsent: datetime | None
    last_sent: datetime | None
    failures: list[FailingMessage]


def status(now: datetime | None = None, show: int = 20) -> OutboxStatus:
    """Counts for ``mail status``: no recipients, subjects or bodies."""
    now = now or utcnow()
    unsent = outbox.unsent()
    tried = _outbox.c.attempts > 0

    def count(*where) -> int:
        return session.scalar(select(func.count()).select_from(_outbox).where(*where)) or 0

    with Session(db.engine) as session:
        state = OutboxStatus(
            queued=count(*unsent, _outbox.c.attempts == 0),
            failing=count(*unsent, tried),
            due=count(*outbox.due(now)),
            sent=count(_outbox.c.sent_at.is_not(None)),
            withdrawn=count(_outbox.c.withdrawn_at.is_not(None)),
            oldest_unsent=session.scalar(select(func.min(_outbox.c.created_at)).where(*unsent)),
            last_sent=session.scalar(select(func.max(_outbox.c.sent_at))),
            failures=[
                FailingMessage(*row)
                for row in session.execute(
                    select(
                        _outbox.c.id,
                        _outbox.c.kind,
                        _outbox.c.attempts,
                        _outbox.c.next_attempt_at,
                        _outbox.c.last_error,
                    )
                    .where(*unsent, tried)
                    .order_by(_outbox.c.id)
                    .limit(show)
                )
            ],
        )
    return state


# ----------------------------------------------------------------------------- after a request


def init_app(app: Flask) -> None:
    """Register the after-request attempt."""
    app.after_request(_after_request)


def _after_request(response):
    queued = g.pop(QUEUED_FLAG, False)
    if queued and current_app.config.get("MAIL_SEND_AFTER_REQUEST"):
        # Runs when the server closes the response, after the delegate has the page.
        response.call_on_close(partial(send_quietly, current_app._get_current_object()))
    return response


def send_quietly(app: Flask) -> SendReport | None:
    """One best-effort attempt in a fresh app context; failures are logged, never raised."""
    try:
        with app.app_context():
            return send_due(limit=AFTER_REQUEST_LIMIT)
    except Exception as exc:
        logger.warning("mail: the after-request attempt failed: %s", describe_error(exc))
        return None
