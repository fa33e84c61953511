"""The console's audit log: who changed what, when, with key fields before and after.

Entries name delegates only by booking reference, so the log holds no personal data that the
privacy purge would have to chase.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from flask_login import current_user
from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bookings.accounts.models import OrganiserUser
from bookings.db import UTCDateTime, db, utcnow


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


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "value"):
        return str(value.value)
    return str(value)


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[str]]:
    """The fields whose text differs, as [before, after]."""
    return {
        key: [_text(before.get(key)), _text(after.get(key))]
        for key in after
        if _text(before.get(key)) != _text(after.get(key))
    }


def snapshot(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in fields}


def record(
    action: str,
    target_type: str,
    target_id: int | None,
    summary: str,
    changes: dict[str, list[str]] | None = None,
    user: OrganiserUser | None = None,
) -> AuditEntry:
    """Add an entry to the session: the caller's commit makes it part of the change it records."""
    if user is None and current_user and current_user.is_authenticated:
        user = current_user._get_current_object()
    entry = AuditEntry(
        user_id=user.id if user else None,
        user_email=user.email if user else "",
        action=action,
        target_type=target_type,
        target_id=target_id,
        summary=summary[:300],
        changes_json=json.dumps(changes or {}, ensure_ascii=False),
    )
    db.session.add(entry)
    return entry


def recent(
    limit: int = 200, target_type: str | None = None, target_id: int | None = None
) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if target_type:
        query = query.where(AuditEntry.target_type == target_type)
    if target_id is not None:
        query = query.where(AuditEntry.target_id == target_id)
    return list(db.session.scalars(query))
