"""Where a built message goes: the mail server (Flask-Mail over SMTP), or ``.eml`` files.

With no ``MAIL_SERVER`` (the ``make run`` default) each message is written into
``instance/mail/`` as ``<number>-<kind>.eml`` instead; a purge removes those copies with
:func:`remove_written`, since they hold the same personal data as the message.

Errors are described for logs with :func:`describe_error`, which never quotes an address.
"""

from __future__ import annotations

import os
import re
import smtplib
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from flask import Flask, current_app
from flask_mail import BadHeaderError, Connection, Message
from sqlalchemy.exc import DBAPIError

from bookings.extensions import mail as mail_extension

MAIL_DIR = "mail"

_ADDRESS = re.compile(r"[^\s<>\"'(),;:\[\]]+@[^\s<>\"'(),;:\[\]]+")


class Outlet(Protocol):
    def deliver(self, message: Message, row_id: int, kind: str) -> str:
        """Send or write one message; returns what happened, for the log (no personal data)."""

    def close(self) -> None: ...


def outlet_for(app: Flask) -> Outlet:
    """The mail server when ``MAIL_SERVER`` is set, else ``.eml`` files in the instance folder."""
    return SMTPOutlet(app) if app.config.get("MAIL_SERVER") else FileOutlet(app)


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


def breaks_connection(exc: BaseException) -> bool:
    """True when the server cannot be reached or the connection is gone (not one bad message)."""
    message_level = (
        smtplib.SMTPRecipientsRefused,
        smtplib.SMTPSenderRefused,
        smtplib.SMTPDataError,
    )
    return isinstance(exc, OSError) and not isinstance(exc, message_level)


# ----------------------------------------------------------------------------- SMTP


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


class SMTPOutlet:
    """Sends through the configured server, one connection per run, opened on first use."""

    def __init__(self, app: Flask) -> None:
        # Read the settings now, not at start-up, so a changed config applies to the next run.
        # Flask-Mail suppresses sending under TESTING; here only MAIL_SUPPRESS_SEND=True does.
        state = mail_extension.init_mail(app.config, debug=False, testing=False)
        self.connection = _TimeoutConnection(state, float(app.config.get("MAIL_TIMEOUT") or 10))
        self.opened = False

    def deliver(self, message: Message, row_id: int, kind: str) -> str:
        if not self.opened:
            self.opened = True
            self.connection.open()
        self.connection.send(message)
        return "sent"

    def close(self) -> None:
        self.connection.close()


# ----------------------------------------------------------------------------- files


class FileOutlet:
    """No mail server: each message becomes ``instance/mail/<id>-<kind>.eml``."""

    def __init__(self, app: Flask) -> None:
        self.folder = Path(app.instance_path) / MAIL_DIR
        self.written: list[Path] = []

    def deliver(self, message: Message, row_id: int, kind: str) -> str:
        if message.has_bad_headers():
            raise BadHeaderError()
        message.date = message.date or time.time()
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{_eml_prefix(row_id)}-{_safe(kind)}.eml"
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


def _eml_prefix(row_id: int) -> str:
    """What every ``.eml`` copy of the message is named with, before ``-<kind>.eml``."""
    return f"{row_id:06d}"


def remove_written(row_ids: Iterable[int]) -> int:
    """Delete the ``.eml`` copies of these outbox messages (written when there is no mail
    server): a purge removes the messages, and their copies hold the same personal data."""
    folder = Path(current_app.instance_path) / MAIL_DIR
    wanted = {_eml_prefix(row_id) for row_id in row_ids}
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
