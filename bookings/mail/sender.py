"""The sender: claim a due message, render it, deliver it, record the outcome.

Several senders may run at once (the after-request attempt in each server process, and any
number of ``flask --app bookings mail send --watch``): to send faster, run more of them. A
message is claimed with its own short commit (:mod:`bookings.mail.outbox`) and rendered in a
read-only transaction that ends before any network I/O, so no database transaction or lock is
ever held while talking to the mail server. The winner records ``sent_at`` (never sent again),
a withdrawal (the message can no longer be sent, e.g. its booking was purged), or a failure:
the attempt count, a short error without personal data, and the time of the next attempt
(back-off from 1 minute doubling to 1 hour). A sender that dies mid-delivery leaves its claim
to expire, after which the message is retried; in that one case a message may arrive twice
(at-least-once delivery), which its stable Message-ID lets mail clients recognise.

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
from bookings.mail.outbox import QUEUED_FLAG, NotSendable, NotYet, backoff
from bookings.mail.transport import FileOutlet, breaks_connection, describe_error, outlet_for

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
# The after-request attempt stays small: it occupies the server process that ran the request.
AFTER_REQUEST_LIMIT = 10

_outbox = outbox.OutboxMessage.__table__


@dataclass
class SendReport:
    """What one ``send_due`` run did. ``skipped``: another sender claimed it first;
    ``withdrawn``: no longer sendable, recorded and never tried again; ``deferred``: not due
    after all (its event moved), put back until it is."""

    sent: int = 0
    failed: int = 0
    skipped: int = 0
    withdrawn: int = 0
    deferred: int = 0
    written: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return self.sent + self.failed

    def add(self, other: SendReport) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.skipped += other.skipped
        self.withdrawn += other.withdrawn
        self.deferred += other.deferred
        self.written += other.written
        self.errors += other.errors


def _claim_length(app: Flask) -> timedelta:
    timeout = float(app.config.get("MAIL_TIMEOUT") or 10)
    return max(CLAIM_MIN, timedelta(seconds=timeout * CLAIM_ROUND_TRIPS))


def send_due(limit: int = 50, now: datetime | None = None) -> SendReport:
    """Deliver up to ``limit`` due messages; needs an app context.

    Uses its own database session, so it neither commits nor rolls back the caller's work.
    When the server cannot be reached, every message of this run is recorded as a failed
    attempt (and backed off) without trying the server again for each one.
    """
    app = current_app._get_current_object()
    fixed_now = now
    report = SendReport()
    outlet = outlet_for(app)
    sender = messages.SenderAddress.of(app.config)
    domain = sender.domain or app.config["CALENDAR_UID_DOMAIN"]
    broken: str | None = None

    with Session(db.engine) as session:
        candidates = outbox.due_ids(session, fixed_now or utcnow(), limit)
        try:
            for row_id in candidates:
                # The clock is read for each message: a slow server can make a batch outlast a
                # claim, and a claim made with a stale clock could expire as it is made.
                now = fixed_now or utcnow()
                claimed = outbox.claim(session, row_id, now, now + _claim_length(app))
                if claimed is None:
                    report.skipped += 1
                    continue
                error = broken
                if error is None:
                    try:
                        rendered = outbox.render_claimed(session, claimed, now)
                        message = messages.build(
                            rendered,
                            claimed.recipient,
                            sender,
                            messages.message_id(claimed.id, claimed.created_at, domain),
                        )
                        outcome = outlet.deliver(message, claimed.id, claimed.kind)
                    except NotYet as exc:
                        outbox.defer(session, claimed, exc.until)
                        report.deferred += 1
                        continue
                    except NotSendable as exc:
                        outbox.withdraw(session, claimed, str(exc), now)
                        report.withdrawn += 1
                        logger.info("mail #%d (%s) withdrawn: %s", claimed.id, claimed.kind, exc)
                        continue
                    except Exception as exc:
                        error = describe_error(exc)
                        if breaks_connection(exc):
                            broken = error
                            outlet.close()
                    else:
                        outbox.mark_sent(session, claimed, now)
                        report.sent += 1
                        logger.info("mail #%d (%s) %s", claimed.id, claimed.kind, outcome)
                        continue
                retry_at = outbox.mark_failed(session, claimed, error, now)
                report.failed += 1
                report.errors.append(error)
                logger.warning(
                    "mail #%d (%s) not sent (attempt %d), next attempt %s: %s",
                    claimed.id,
                    claimed.kind,
                    claimed.attempts + 1,
                    f"{retry_at:%Y-%m-%d %H:%M} UTC",
                    error,
                )
        finally:
            outlet.close()
    if isinstance(outlet, FileOutlet):
        report.written = outlet.written
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
        if report.attempted + report.skipped + report.withdrawn + report.deferred < batch:
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
