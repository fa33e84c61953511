"""Organiser accounts for the /manage console."""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column
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
