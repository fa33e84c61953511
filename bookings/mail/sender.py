"""Delivers the outbox: claim a due message, send it, record the outcome.

Several senders may run at once (the after-request attempt in each server process, and
``flask --app bookings mail send --watch``). A message is *claimed* with one conditional UPDATE
that only one of them can win, and the claim is committed before any network I/O, so no
database transaction or lock is ever held while talking to the mail server. The winner records
``sent_at`` (never sent again) or a failure: the attempt count, a short error without personal
data, and the time of the next attempt (back-off from 1 minute doubling to 1 hour). A sender that
dies mid-delivery leaves its claim to expire, after which the message is retried; in that one
case a message may arrive twice (at-least-once delivery), which its stable Message-ID lets mail
clients recognise.

With no ``MAIL_SERVER`` (the ``make run`` default) each message is written as an ``.eml`` file
into ``instance/mail/`` instead, and only its number, kind and file are logged.

Nothing here logs names, addresses, subjects, bodies or manage links: this is child-protection
work, and logs travel further than the database.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr
from functools import partial
from pathlib import Path

from flask import Flask, current_app, g
from flask_mail import BadHeaderError, Connection, Message
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from bookings.db import db, utcnow
from bookings.extensions import mail as mail_extension
from bookings.mail.models import OutboxMessage
from bookings.mail.notify import QUEUED_FLAG

logger = logging.getLogger("bookings.mail")

BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
# A claim must outlast one delivery: about ten SMTP round trips (connect, EHLO, STARTTLS, AUTH,
# MAIL, RCPT, DATA, QUIT...), each bounded by MAIL_TIMEOUT. Never shorter than a minute.
CLAIM_ROUND_TRIPS = 12
CLAIM_MIN = timedelta(minutes=1)
# The after-request attempt stays small: it occupies the server process that ran the request.
AFTER_REQUEST_LIMIT = 10
MAIL_DIR = "mail"

_outbox = OutboxMessage.__table__
_ADDRESS = re.compile(r"[^\s<>\"'(),;:\[\]]+@[^\s<>\"'(),;:\[\]]+")


@dataclass
class SendReport:
    """What one ``send_due`` run did. ``skipped``: another sender claimed it first."""

    sent: int = 0
    failed: int = 0
    skipped: int = 0
    written: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return self.sent + self.failed

    def add(self, other: SendReport) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.skipped += other.skipped
        self.written += other.written
        self.errors += other.errors


@dataclass(frozen=True)
class _Claimed:
    """A plain copy of a claimed row: no ORM object or transaction lives across the network I/O."""

    id: int
    kind: str
    recipient: str
    subject: str
    body_text: str
    body_html: str
    ics: str | None
    ics_filename: str
    attempts: int
    created_at: datetime


def backoff(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failed attempt: 1, 2, 4 ... minutes, at most an hour."""
    doublings = min(max(attempts - 1, 0), 20)  # bounded: a message may fail for weeks
    return min(BACKOFF_FIRST * 2**doublings, BACKOFF_MAX)


def describe_error(exc: BaseException) -> str:
    """A short account of a failure, fit for logs: SMTP codes and OS errors, never addresses.

    Servers quote the refused address in their replies, and other exceptions can quote message
    content; so SMTP replies are scrubbed of anything address-like and unknown exceptions are
    reduced to their type.
    """
    name = type(exc).__name__
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({str(code) for code, _reply in exc.recipients.values()})
        detail = f"recipient refused ({', '.join(codes)})"
    elif isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error
        reply = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        detail = f"{exc.smtp_code} {reply}"
    elif isinstance(exc, OSError):
        detail = str(exc)
    elif isinstance(exc, DBAPIError):
        detail = str(exc.orig).splitlines()[0] if str(exc.orig) else ""
    else:
        detail = ""
    detail = _ADDRESS.sub("<address>", " ".join(detail.split()))
    return f"{name}: {detail}"[:300] if detail else name


def _breaks_connection(exc: BaseException) -> bool:
    """True when the server cannot be reached or the connection is gone (not one bad message)."""
    message_level = (
        smtplib.SMTPRecipientsRefused,
        smtplib.SMTPSenderRefused,
        smtplib.SMTPDataError,
    )
    return isinstance(exc, OSError) and not isinstance(exc, message_level)


# ----------------------------------------------------------------------------- outlets


class _TimeoutConnection(Connection):
    """Flask-Mail's connection with a socket timeout and a close that never leaks the socket.

    Flask-Mail 0.10 opens ``smtplib.SMTP(server, port)`` with no timeout, so a silent server
    would hang the sender forever; here every connect and every read and write is bounded by
    ``MAIL_TIMEOUT``. Its SMTP debug output (``MAIL_DEBUG``, on by default under ``--debug``)
    is deliberately not supported: it prints recipients and whole messages to the console.
    """

    def __init__(self, state, timeout: float) -> None:
        super().__init__(state)
        self.timeout = timeout

    def configure_host(self) -> smtplib.SMTP:
        factory = smtplib.SMTP_SSL if self.mail.use_ssl else smtplib.SMTP
        host = factory(self.mail.server, self.mail.port, timeout=self.timeout)
        try:
            if self.mail.use_tls:
                host.starttls()
            if self.mail.username and self.mail.password:
                host.login(self.mail.username, self.mail.password)
        except BaseException:
            host.close()
            raise
        return host

    def open(self) -> None:
        self.num_emails = 0
        self.host = None if self.mail.suppress else self.configure_host()

    def close(self) -> None:
        host, self.host = self.host, None
        if host is None:
            return
        try:
            host.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            host.close()


class _SMTPOutlet:
    """Sends through the configured server, one connection per run, opened on first use."""

    def __init__(self, app: Flask) -> None:
        # Read the settings now, not at start-up, so a changed config applies to the next run.
        # Flask-Mail suppresses sending under TESTING; here only MAIL_SUPPRESS_SEND=True does.
        state = mail_extension.init_mail(app.config, debug=False, testing=False)
        self.connection = _TimeoutConnection(state, float(app.config.get("MAIL_TIMEOUT") or 10))
        self.opened = False

    def deliver(self, claimed: _Claimed, message: Message) -> str:
        if not self.opened:
            self.opened = True
            self.connection.open()
        self.connection.send(message)
        return "sent"

    def close(self) -> None:
        self.connection.close()


class _FileOutlet:
    """No mail server: each message becomes ``instance/mail/<id>-<kind>.eml``."""

    def __init__(self, app: Flask) -> None:
        self.folder = Path(app.instance_path) / MAIL_DIR
        self.written: list[Path] = []

    def deliver(self, claimed: _Claimed, message: Message) -> str:
        if message.has_bad_headers():
            raise BadHeaderError()
        message.date = message.date or time.time()
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{_eml_prefix(claimed.id)}-{_safe(claimed.kind)}.eml"
        # Written aside and renamed into place: a reader never sees half a message.
        fd, scratch = tempfile.mkstemp(dir=self.folder, prefix=".outbox-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(message.as_bytes())
            os.replace(scratch, path)
        except BaseException:
            Path(scratch).unlink(missing_ok=True)
            raise
        self.written.append(path)
        return f"written to {_shown(path)}"

    def close(self) -> None:
        pass


def _eml_prefix(message_id: int) -> str:
    """What every ``.eml`` copy of the message is named with, before ``-<kind>.eml``."""
    return f"{message_id:06d}"


def remove_written(message_ids: Iterable[int]) -> int:
    """Delete the ``.eml`` copies of these outbox messages (written when there is no mail
    server): a purge removes the messages, and their copies hold the same personal data."""
    folder = Path(current_app.instance_path) / MAIL_DIR
    wanted = {_eml_prefix(message_id) for message_id in message_ids}
    if not wanted or not folder.is_dir():
        return 0
    removed = 0
    for path in folder.glob("*.eml"):
        if path.name.partition("-")[0] in wanted:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _safe(kind: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "_", kind.lower())[:40] or "mail"


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# ----------------------------------------------------------------------------- messages


def _sender_address(app: Flask) -> tuple[str, str] | str:
    sender = app.config.get("MAIL_DEFAULT_SENDER")
    if isinstance(sender, list | tuple):
        return (sender[0], sender[1])
    return sender


def _message_id_domain(app: Flask) -> str:
    sender = _sender_address(app)
    address = sender[1] if isinstance(sender, tuple) else parseaddr(sender or "")[1]
    return address.rpartition("@")[2] or app.config["CALENDAR_UID_DOMAIN"]


def build_message(claimed: _Claimed, app: Flask) -> Message:
    """The Flask-Mail message for an outbox row: text, HTML alternative, the event's .ics."""
    message = Message(
        subject=claimed.subject,
        recipients=[claimed.recipient],
        body=claimed.body_text,
        html=claimed.body_html or None,
        sender=_sender_address(app),
        charset="utf-8",
        # RFC 3834: keeps out-of-office replies away from an unattended mailbox.
        extra_headers={"Auto-Submitted": "auto-generated"},
    )
    # Stable across retries, so a message that did arrive twice is recognisably the same one.
    stamp = int(claimed.created_at.timestamp())
    message.msgId = f"<outbox.{claimed.id}.{stamp}@{_message_id_domain(app)}>"
    if claimed.ics:
        message.attach(
            filename=claimed.ics_filename,
            # Flask-Mail splits the type at "/" and keeps the parameters with the subtype.
            content_type="text/calendar; method=PUBLISH; charset=utf-8",
            # Bytes, so non-ASCII (a venue's "½", an en dash in a title) survives base64 intact.
            data=claimed.ics.encode("utf-8"),
        )
    return message


# ----------------------------------------------------------------------------- the outbox


def _due(now: datetime):
    return (
        _outbox.c.sent_at.is_(None),
        _outbox.c.next_attempt_at <= now,
        or_(_outbox.c.claimed_until.is_(None), _outbox.c.claimed_until < now),
    )


def _claim_length(app: Flask) -> timedelta:
    timeout = float(app.config.get("MAIL_TIMEOUT") or 10)
    return max(CLAIM_MIN, timedelta(seconds=timeout * CLAIM_ROUND_TRIPS))


def _claim(session: Session, message_id: int, now: datetime, until: datetime) -> _Claimed | None:
    """Claim one message for this sender, or None when another sender has it (or sent it)."""
    try:
        result = session.execute(
            update(_outbox)
            .where(_outbox.c.id == message_id, *_due(now))
            .values(claimed_until=until)
        )
        if result.rowcount != 1:
            session.rollback()
            return None
        row = session.execute(select(_outbox).where(_outbox.c.id == message_id)).one()
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return _Claimed(
        id=row.id,
        kind=row.kind,
        recipient=row.recipient,
        subject=row.subject,
        body_text=row.body_text,
        body_html=row.body_html or "",
        ics=row.ics,
        ics_filename=row.ics_filename or "event.ics",
        attempts=row.attempts or 0,
        created_at=row.created_at,
    )


def _mark_sent(session: Session, claimed: _Claimed, now: datetime) -> None:
    session.execute(
        update(_outbox)
        .where(_outbox.c.id == claimed.id, _outbox.c.sent_at.is_(None))
        .values(sent_at=now, claimed_until=None)
    )
    session.commit()


def _mark_failed(session: Session, claimed: _Claimed, error: str, now: datetime) -> datetime:
    attempts = claimed.attempts + 1
    retry_at = now + backoff(attempts)
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


def send_due(limit: int = 50, now: datetime | None = None) -> SendReport:
    """Deliver up to ``limit`` due messages; needs an app context.

    Uses its own database session, so it neither commits nor rolls back the caller's work.
    When the server cannot be reached, every message of this run is recorded as a failed
    attempt (and backed off) without trying the server again for each one.
    """
    app = current_app._get_current_object()
    fixed_now = now
    now = now or utcnow()
    report = SendReport()
    outlet = _SMTPOutlet(app) if app.config.get("MAIL_SERVER") else _FileOutlet(app)
    broken: str | None = None

    with Session(db.engine) as session:
        candidates = list(
            session.scalars(
                select(_outbox.c.id)
                .where(*_due(now))
                .order_by(_outbox.c.next_attempt_at, _outbox.c.id)
                .limit(limit)
            )
        )
        session.rollback()  # end the read; every claim is its own short transaction
        try:
            for message_id in candidates:
                # The clock is read for each message: a slow server can make a batch outlast a
                # claim, and a claim made with a stale clock could expire as it is made.
                now = fixed_now or utcnow()
                claimed = _claim(session, message_id, now, now + _claim_length(app))
                if claimed is None:
                    report.skipped += 1
                    continue
                error = broken
                if error is None:
                    try:
                        outcome = outlet.deliver(claimed, build_message(claimed, app))
                    except Exception as exc:
                        error = describe_error(exc)
                        if _breaks_connection(exc):
                            broken = error
                            outlet.close()
                    else:
                        _mark_sent(session, claimed, now)
                        report.sent += 1
                        logger.info("mail #%d (%s) %s", claimed.id, claimed.kind, outcome)
                        continue
                retry_at = _mark_failed(session, claimed, error, now)
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
    if isinstance(outlet, _FileOutlet):
        report.written = outlet.written
    return report


def send_all_due(batch: int = 50) -> SendReport:
    """Send batches until nothing due is left for this sender (``mail send``)."""
    total = SendReport()
    while True:
        report = send_due(limit=batch)
        total.add(report)
        if report.attempted + report.skipped < batch:
            return total


def retry_now(now: datetime | None = None) -> int:
    """Make every failed, unsent message due now, ignoring its back-off. Returns how many."""
    now = now or utcnow()
    with Session(db.engine) as session:
        result = session.execute(
            update(_outbox)
            .where(_outbox.c.sent_at.is_(None), _outbox.c.attempts > 0)
            .values(next_attempt_at=now)
        )
        session.commit()
        return result.rowcount


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
    oldest_unsent: datetime | None
    last_sent: datetime | None
    failures: list[FailingMessage]


def status(now: datetime | None = None, show: int = 20) -> OutboxStatus:
    """Counts for ``mail status``: no recipients, subjects or bodies."""
    now = now or utcnow()
    with Session(db.engine) as session:
        unsent = _outbox.c.sent_at.is_(None)
        queued = session.scalar(
            select(func.count()).select_from(_outbox).where(unsent, _outbox.c.attempts == 0)
        )
        failing = session.scalar(
            select(func.count()).select_from(_outbox).where(unsent, _outbox.c.attempts > 0)
        )
        due = session.scalar(select(func.count()).select_from(_outbox).where(*_due(now)))
        sent = session.scalar(
            select(func.count()).select_from(_outbox).where(_outbox.c.sent_at.is_not(None))
        )
        oldest = session.scalar(select(func.min(_outbox.c.created_at)).where(unsent))
        last = session.scalar(select(func.max(_outbox.c.sent_at)))
        rows = session.execute(
            select(
                _outbox.c.id,
                _outbox.c.kind,
                _outbox.c.attempts,
                _outbox.c.next_attempt_at,
                _outbox.c.last_error,
            )
            .where(unsent, _outbox.c.attempts > 0)
            .order_by(_outbox.c.id)
            .limit(show)
        ).all()
    return OutboxStatus(
        queued=queued or 0,
        failing=failing or 0,
        due=due or 0,
        sent=sent or 0,
        oldest_unsent=oldest,
        last_sent=last,
        failures=[FailingMessage(*row) for row in rows],
    )


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
