"""The console's shared pieces: the guard (every console blueprint calls ``guard`` once, so no
route can forget it), the page number of a paginated list, and the confirmation page that
every destructive action shows before it acts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from bookings.accounts.models import Role
from bookings.extensions import login_manager
from bookings.web.forms import ButtonForm
from bookings.web.input import whole_number

# The highest page number a list link may ask for; the offset stays far inside any integer.
PAGE_MAX = 99_999

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


def page_arg(values: Mapping[str, str] | None = None, name: str = "page") -> int:
    """``page`` of the query string (or of ``values``, e.g. a form) as a page number from 1 to
    ``PAGE_MAX``; anything else is page 1 (a page past the end shows the last one:
    ``bookings.db.paged``)."""
    number = whole_number(
        (request.args if values is None else values).get(name, ""), maximum=PAGE_MAX
    )
    return number or 1


@dataclass(frozen=True)
class Confirmation:
    """The question a destructive action asks first (GET), answered by a POST to the same
    address with the button form. ``facts`` name what it acts on, ``consequences`` say what
    happens; with a ``refusal`` the page says why it cannot be done and offers only the way
    back."""

    title: str
    button: str
    back: str
    facts: Sequence[tuple[str, str]] = ()
    consequences: Sequence[str] = ()
    refusal: str = ""
    back_label: str = "No, go back"


def confirmation_page(confirmation: Confirmation, **context: Any) -> str:
    """The one confirmation page (templates/console/confirm.html); ``context`` adds what the
    page's frame shows, e.g. ``event`` for the event's own navigation."""
    return render_template(
        "console/confirm.html", confirmation=confirmation, form=ButtonForm(), **context
    )
