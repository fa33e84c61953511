"""Organiser accounts: creation and password checks."""

from __future__ import annotations

from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from bookings.accounts import audit
from bookings.accounts.models import OrganiserUser, Role
from bookings.db import db

# Checked when the address is unknown, so a wrong address costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a real password")
MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    pass


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


def authenticate(email: str, password: str) -> OrganiserUser | None:
    user = db.session.scalar(
        select(OrganiserUser).where(func.lower(OrganiserUser.email) == email.strip().lower())
    )
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
    exists = db.session.scalar(select(OrganiserUser.id).where(OrganiserUser.email == email))
    if exists is not None:
        raise AccountError(f"an organiser with the address {email} already exists")
    user = OrganiserUser(email=email, name=name, role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    # In the same commit as the account: no account exists without its audit entry.
    audit.record("organiser.create", "organiser", user.id, f"Added {user.role.value} {user.email}")
    db.session.commit()
    return user


# ----------------------------------------------------------------------------- admin console


def organisers() -> list[OrganiserUser]:
    return list(db.session.scalars(select(OrganiserUser).order_by(OrganiserUser.email)))


def update_organiser(user_id: int, *, role: Role, active: bool, acting: OrganiserUser) -> None:
    """Admins change roles and lock accounts; never their own, so one admin always remains."""
    from bookings.accounts import audit

    user = db.session.get(OrganiserUser, user_id)
    if user is None:
        raise LookupError(user_id)
    if user.id == acting.id and (role != user.role or not active):
        raise AccountError("You cannot change your own role or lock your own account.")
    changes = audit.diff(
        {"role": user.role, "active": user.active}, {"role": role, "active": active}
    )
    if changes:
        user.role, user.active = role, active
        audit.record("organiser.update", "organiser", user.id, f"Changed {user.email}", changes)
        db.session.commit()


def update_details(
    user_id: int, *, name: str, password: str = ""
) -> tuple[OrganiserUser, list[str]]:
    """Admins correct an organiser's name and, for a forgotten password, set a new first one
    to hand over in person as at creation. Each change is audited in its commit, the password
    never. Returns the account and what changed ("name", "password")."""
    user = db.session.get(OrganiserUser, user_id)
    if user is None:
        raise LookupError(user_id)
    if password:
        _check_password(password)
    changed = []
    name = name.strip()
    if name != user.name:
        audit.record(
            "organiser.update",
            "organiser",
            user.id,
            f"Renamed {user.email}",
            audit.diff({"name": user.name}, {"name": name}),
        )
        user.name = name
        changed.append("name")
    if password:
        user.set_password(password)
        audit.record("organiser.password", "organiser", user.id, f"Reset {user.email}'s password")
        changed.append("password")
    db.session.commit()
    return user, changed
