"""The console guard: every console blueprint calls ``guard`` once, so no route can forget it."""

from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user

from bookings.accounts.models import Role
from bookings.extensions import login_manager

# An admin may do everything an organiser may; an organiser may not manage accounts or sectors.
RANKS = {Role.organiser: 1, Role.admin: 2}


def has_role(role: Role) -> bool:
    return current_user.is_authenticated and RANKS[current_user.role] >= RANKS[role]


def guard(bp: Blueprint, role: Role = Role.organiser) -> None:
    """Every request to ``bp`` needs a signed-in organiser with at least ``role``: strangers go
    to the sign-in page, organisers without the role get the 403 page."""

    @bp.before_request
    def _check_role():
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not has_role(role):
            abort(403)
        return None
