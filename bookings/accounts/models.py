"""Organiser accounts for the /manage console."""

from __future__ import annotations

import enum
import hashlib
import json
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from bookings.db import UTCDateTime, db, string_enum, utcnow


class Role(enum.StrEnum):
    admin = "admin"
    organiser = "organiser"


class OrganiserUser(UserMixin, db.Model):
    __tablename__ = "organisers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(string_enum(Role, "organiser_role"), default=Role.organiser)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """The session's user id carries a fingerprint of the password: a new password (an
        admin's reset after a lost laptop, say) ends every session opened with the old one."""
        return f"{self.id}-{self.password_fingerprint()}"

    def password_fingerprint(self) -> str:
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


# Entries name delegates only by booking reference, so the log holds no personal data that the
# privacy purge would have to chase.
class AuditEntry(db.Model):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisers.id", ondelete="SET NULL"), index=True
    )
    # Kept apart from the account so the entry still says who after an account is removed.
    user_email: Mapped[str] = mapped_column(String(254), default="")
    action: Mapped[str] = mapped_column(String(60))
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[int | None] = mapped_column(index=True)
    summary: Mapped[str] = mapped_column(String(300), default="")
    changes_json: Mapped[str] = mapped_column(Text, default="{}")

    user: Mapped[OrganiserUser | None] = relationship()

    @property
    def changes(self) -> dict[str, list[str]]:
        """Field name to [before, after], as text."""
        return json.loads(self.changes_json or "{}")
