"""Organiser accounts (creation, passwords, roles, the signed-in user) and the console's audit
log: who changed what, when, with key fields before and after.

Each change to an account is one unit of work with its audit entry inside, so no account
changes without the entry that says who changed it.
"""

from __future__ import annotations

import hmac
import json
from datetime import date, datetime
from typing import Any

from flask_login import current_user
from sqlalchemy import func, select, update
from werkzeug.security import generate_password_hash

from bookings.accounts import notifications, tokens
from bookings.accounts.models import AuditEntry, OrganiserUser, Role
from bookings.db import db, require_unit_of_work, unit_of_work, utcnow

# Checked when the address is unknown, so a wrong address costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a real password")
MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    pass


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


def _by_address(email: str) -> OrganiserUser | None:
    return db.session.scalar(
        select(OrganiserUser).where(func.lower(OrganiserUser.email) == email.strip().lower())
    )


def authenticate(email: str, password: str) -> OrganiserUser | None:
    user = _by_address(email)
    if user is None:
        OrganiserUser(password_hash=_DUMMY_HASH).check_password(password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    return user


def create_organiser(
    email: str, password: str, *, name: str = "", role: Role = Role.organiser
) -> OrganiserUser:
    email = email.strip().lower()
    if "@" not in email:
        raise AccountError(f"{email!r} is not an e-mail address")
    _check_password(password)
    with unit_of_work():
        exists = db.session.scalar(select(OrganiserUser.id).where(OrganiserUser.email == email))
        if exists is not None:
            raise AccountError(f"an organiser with the address {email} already exists")
        user = OrganiserUser(email=email, name=name, role=role)
        user.set_password(password)
        db.session.add(user)
        db.session.flush()
        audit("organiser.create", "organiser", user.id, f"Added {user.role.value} {user.email}")
    return user


# ----------------------------------------------------------------------------- password reset
# Anyone may ask; only the account's mailbox gets the link (``tokens`` says why it works once).


class ResetLinkInvalid(Exception):
    """The link is not one of ours, is over an hour old, or its password has been changed
    since (which using it does): the organiser asks for a new one."""


def request_password_reset(email: str) -> None:
    """E-mail a link to set a new password if ``email`` is an active account's address.

    The caller shows the same page whatever happened, and both ways do the same work, so
    neither the answer nor its time says whether the address has an account: one look-up and
    one audit entry in one unit of work (an account's also holds its e-mail). The entry for a
    stranger's address does not keep the address.
    """
    with unit_of_work():
        user = _by_address(email)
        if user is not None and user.active:
            notifications.password_reset(user)
            summary = f"Password reset link e-mailed to {user.email}"
        elif user is not None:
            summary = f"Password reset asked for locked account {user.email}: nothing sent"
        else:
            summary = "Password reset asked for an address with no account: nothing sent"
        audit("organiser.reset_request", "organiser", user.id if user else None, summary)


def account_for_reset(token: str, now: datetime | None = None) -> OrganiserUser:
    """The active account a reset link is for, or :class:`ResetLinkInvalid`."""
    claim = tokens.read_reset_token(token)
    if claim is None or claim.expired(now or utcnow()):
        raise ResetLinkInvalid()
    user = db.session.get(OrganiserUser, claim.user_id)
    if user is None or not user.active:
        raise ResetLinkInvalid()
    if not hmac.compare_digest(claim.fingerprint, user.password_fingerprint()):
        raise ResetLinkInvalid()
    return user


def reset_password(token: str, password: str, now: datetime | None = None) -> OrganiserUser:
    """Set a new password through an e-mailed link, once.

    The new hash is written only over the one the link was made for (a compare-and-set, so two
    tabs using one link cannot both succeed); its new fingerprint kills the link and ends every
    session opened with the old password (``load_user``).
    """
    with unit_of_work():
        user = account_for_reset(token, now)
        _check_password(password)
        old_hash = user.password_hash
        new_hash = generate_password_hash(password)
        changed = db.session.execute(
            update(OrganiserUser)
            .where(OrganiserUser.id == user.id, OrganiserUser.password_hash == old_hash)
            .values(password_hash=new_hash)
        )
        if changed.rowcount != 1:
            raise ResetLinkInvalid()
        audit(
            "organiser.password",
            "organiser",
            user.id,
            f"{user.email} set a new password through an e-mailed link",
            user=user,
        )
    return user


# ----------------------------------------------------------------------------- admin console


def organisers() -> list[OrganiserUser]:
    return list(db.session.scalars(select(OrganiserUser).order_by(OrganiserUser.email)))


def _organiser(user_id: int) -> OrganiserUser:
    user = db.session.get(OrganiserUser, user_id)
    if user is None:
        raise LookupError(user_id)
    return user


def update_organiser(user_id: int, *, role: Role, active: bool, acting: OrganiserUser) -> None:
    """Admins change roles and lock accounts; never their own, so one admin always remains."""
    with unit_of_work():
        user = _organiser(user_id)
        if user.id == acting.id and (role != user.role or not active):
            raise AccountError("You cannot change your own role or lock your own account.")
        changes = diff({"role": user.role, "active": user.active}, {"role": role, "active": active})
        if changes:
            user.role, user.active = role, active
            audit("organiser.update", "organiser", user.id, f"Changed {user.email}", changes)


def update_details(
    user_id: int, *, name: str, password: str = ""
) -> tuple[OrganiserUser, list[str]]:
    """Admins correct an organiser's name and, for a forgotten password, set a new first one
    to hand over in person as at creation. Each change is audited in the same unit of work,
    the password never. Returns the account and what changed ("name", "password")."""
    with unit_of_work():
        user = _organiser(user_id)
        if password:
            _check_password(password)
        changed = []
        name = name.strip()
        if name != user.name:
            audit(
                "organiser.update",
                "organiser",
                user.id,
                f"Renamed {user.email}",
                diff({"name": user.name}, {"name": name}),
            )
            user.name = name
            changed.append("name")
        if password:
            user.set_password(password)
            audit("organiser.password", "organiser", user.id, f"Reset {user.email}'s password")
            changed.append("password")
    return user, changed


def load_user(user_id: str) -> OrganiserUser | None:
    """The signed-in organiser of a session: none once the account is switched off or its
    password changed (the session id carries a fingerprint of the password hash)."""
    number, _, fingerprint = user_id.partition("-")
    user = (
        db.session.get(OrganiserUser, int(number))
        if number.isascii() and number.isdigit()
        else None
    )
    if user is None or not user.active:
        return None
    return user if hmac.compare_digest(fingerprint, user.password_fingerprint()) else None


# ----------------------------------------------------------------------------- the audit log


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


def audit(
    action: str,
    target_type: str,
    target_id: int | None,
    summary: str,
    changes: dict[str, list[str]] | None = None,
    user: OrganiserUser | None = None,
) -> AuditEntry:
    """Add an entry to the change's unit of work: it is committed with the change it records."""
    require_unit_of_work("an audit entry")
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


def recent_activity(
    limit: int = 200, target_type: str | None = None, target_id: int | None = None
) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if target_type:
        query = query.where(AuditEntry.target_type == target_type)
    if target_id is not None:
        query = query.where(AuditEntry.target_id == target_id)
    return list(db.session.scalars(query))
