"""What an organiser hears: the link to set a new password.

The outbox row names the account and the fingerprint of the password the link is for, never
the link itself: the token is signed again from them when the message is written, so no working
secret waits in the database. A message that can no longer help (the account was locked, its
password changed meanwhile, or the hour ran out before it could go) is withdrawn, not sent.
"""

from __future__ import annotations

import hmac

from flask import url_for
from sqlalchemy.orm import Session

from bookings.accounts.models import OrganiserUser
from bookings.accounts.tokens import RESET_LINK_LIFETIME, reset_token
from bookings.db import utcnow
from bookings.mail import service as mail
from bookings.mail.models import OutboxMessage


def password_reset(user: OrganiserUser) -> OutboxMessage:
    return mail.queue(
        "password_reset",
        user.email,
        data={"organiser": user.id, "fingerprint": user.password_fingerprint()},
    )


@mail.renderer("password_reset")
def _password_reset(message: OutboxMessage, session: Session) -> mail.Rendered:
    data = message.data or {}
    user = session.get(OrganiserUser, data.get("organiser") or 0)
    if user is None or not user.active:
        raise mail.NotSendable("the account no longer exists or is locked")
    if user.email.lower() != message.recipient.lower():
        raise mail.NotSendable("the account's address has changed")
    fingerprint = str(data.get("fingerprint", ""))
    if not hmac.compare_digest(fingerprint, user.password_fingerprint()):
        raise mail.NotSendable("the password has changed since the link was asked for")
    expires_at = message.created_at + RESET_LINK_LIFETIME
    if utcnow() >= expires_at:
        raise mail.NotSendable("the link expired before it could be sent")
    token = reset_token(user.id, fingerprint, message.created_at)
    return mail.from_templates(
        "password_reset",
        "Set a new password for the LSCB events console",
        link=url_for("accounts.reset_password", token=token, _external=True),
        expires_at=expires_at,
        lifetime_minutes=int(RESET_LINK_LIFETIME.total_seconds() // 60),
    )
