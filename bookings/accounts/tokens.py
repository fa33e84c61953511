"""The password-reset link's token: signed with the app's secret, naming the account, a
fingerprint of its password hash and when the link was asked for.

Nothing is stored for it: the token is made again from the account when the e-mail is written,
and it holds only while the password is the one it was made for. Setting a new password (a
fresh salted hash, so always a new fingerprint) is what uses the link up, and any other change
of password kills it too. Its own module so that the service (which reads links) and the
notifications (which write them into e-mails) share it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

RESET_LINK_LIFETIME = timedelta(hours=1)
_SALT = "organiser-password-reset"


@dataclass(frozen=True)
class ResetClaim:
    user_id: int
    fingerprint: str
    issued_at: datetime

    def expired(self, now: datetime) -> bool:
        return now >= self.issued_at + RESET_LINK_LIFETIME


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def reset_token(user_id: int, fingerprint: str, issued_at: datetime) -> str:
    return _serializer().dumps([user_id, fingerprint, int(issued_at.timestamp())])


def read_reset_token(token: str) -> ResetClaim | None:
    """What a token we signed says, or None for anything else."""
    try:
        user_id, fingerprint, stamp = _serializer().loads(token)
    except (BadSignature, TypeError, ValueError):
        return None
    if not (isinstance(user_id, int) and isinstance(fingerprint, str) and isinstance(stamp, int)):
        return None
    return ResetClaim(user_id, fingerprint, datetime.fromtimestamp(stamp, UTC))
