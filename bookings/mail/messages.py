"""From a rendered message to a Flask-Mail ``Message``: headers, alternatives, the calendar file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.header import Header
from email.utils import parseaddr
from typing import Any

from flask import render_template
from flask_mail import Message


@dataclass(frozen=True)
class Rendered:
    """What a message says, as its renderer wrote it when the message was due."""

    subject: str
    body_text: str
    body_html: str = ""
    ics: str | None = None
    ics_filename: str = "event.ics"


@dataclass(frozen=True)
class SenderAddress:
    """``MAIL_DEFAULT_SENDER`` read once: the From header and the Message-ID's domain."""

    name: str
    address: str

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> SenderAddress:
        sender = config.get("MAIL_DEFAULT_SENDER")
        if isinstance(sender, list | tuple):
            name, address = sender[0], sender[1]
        else:
            name, address = parseaddr(sender or "")
        return cls(name or "", address or "")

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]

    def header(self) -> tuple[str, str] | str:
        return (self.name, self.address) if self.name else self.address


def one_line(text: str) -> str:
    """Header-safe: a title with a stray newline must not break (or inject) a header."""
    return " ".join(text.split())


def from_templates(
    template: str,
    subject: str,
    *,
    ics: str | None = None,
    ics_filename: str = "event.ics",
    **context: Any,
) -> Rendered:
    """Render ``templates/mail/<template>.txt`` and ``.html`` with the subject on one line;
    ``calendar_file`` tells the templates the name of the attached ``.ics`` (None: none)."""
    subject = one_line(subject)
    context = {"subject": subject, "calendar_file": ics_filename if ics else None, **context}
    return Rendered(
        subject=subject,
        body_text=render_template(f"mail/{template}.txt", **context),
        body_html=render_template(f"mail/{template}.html", **context),
        ics=ics,
        ics_filename=ics_filename,
    )


def message_id(row_id: int, created_at: datetime, domain: str) -> str:
    """One Message-ID per outbox row, the same on every attempt, so that a receiver can drop a
    repeat (delivery is at-least-once: a server may take a message and die before saying so)."""
    return f"<outbox.{row_id}.{int(created_at.timestamp())}@{domain}>"


def build(rendered: Rendered, recipient: str, sender: SenderAddress, msg_id: str) -> Message:
    """The Flask-Mail message: text, the HTML alternative and the event's ``.ics``."""
    message = _Message(
        subject=rendered.subject,
        recipients=[recipient],
        body=rendered.body_text,
        html=rendered.body_html or None,
        sender=sender.header(),
        charset="utf-8",
        # RFC 3834: keeps out-of-office replies away from an unattended mailbox.
        extra_headers={"Auto-Submitted": "auto-generated"},
    )
    message.msgId = msg_id
    if rendered.ics:
        message.attach(
            filename=rendered.ics_filename,
            # Flask-Mail splits the type at "/" and keeps the parameters with the subtype.
            content_type="text/calendar; method=PUBLISH; charset=utf-8",
            # Bytes, so non-ASCII (a venue's "½", an en dash in a title) survives base64 intact.
            data=rendered.ics.encode("utf-8"),
        )
    return message


# Flask-Mail's headers are already encoded (RFC 2047) and its parts already base64 or 8-bit,
# so the legacy policy writes the same message; ``policy.SMTP`` re-parses and re-folds every
# header on each read, which was most of the time spent building a message.
class _Wire(policy.Compat32):
    """The legacy policy with CRLF, writing a short ASCII header as it stands: what the legacy
    folding would write too, without building an ``email.header.Header`` for each."""

    def fold_binary(self, name: str, value: Any) -> bytes:
        if (
            isinstance(value, str)
            and value.isascii()
            and "\n" not in value
            and "\r" not in value
            and len(name) + len(value) + 2 <= self.max_line_length
        ):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


_WIRE = _Wire(linesep="\r\n", mangle_from_=False)  # a body line "From …" stays as written


class _Message(Message):
    def _message(self):
        message = super()._message()
        message.policy = _WIRE
        if self.subject:
            # Folded knowing its name, so a long subject's first line is not left empty.
            message.replace_header("Subject", Header(self.subject, "utf-8", header_name="Subject"))
        return message
