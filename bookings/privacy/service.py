"""The purge rule: delegates' personal data goes once their events are over (invariant 5).

"My bookings" links of addresses left without a booking and "tell me when booking opens"
requests of the ended events go too.

A purged booking keeps what the statistics need (event, sector, status, attendance, dates) and
loses everything that says who the delegate was, its reference too: the delegate still holds it
in their e-mails, so it would tie them to the row. A certificate loses the name printed on it
and keeps its number; evaluation answers stay whole. A team's booker loses their name and
address and the team link its secret. Their e-mails go from the outbox, since a
message holds an address (and its ``.eml`` copy, written when there is no mail server, the
whole text); one queued for a booking purged anyway is withdrawn by the sender, never sent.
Each run goes to the audit log with the purge itself, and to the log with counts and who ran
it (an organiser's address or the command line's user), never a delegate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, String, and_, cast, delete, func, literal, or_, select, update
from sqlalchemy.sql import Select

from bookings.accounts import service as accounts
from bookings.accounts.models import OrganiserUser
from bookings.booking.models import Booking, BookingGroup
from bookings.certificates.models import Certificate
from bookings.db import db, unit_of_work, utcnow
from bookings.events.models import Event
from bookings.london import format_date, london_date, london_day_bounds
from bookings.mail import service as mail
from bookings.mail.models import OutboxMessage
from bookings.mine.models import AddressLink
from bookings.openings.models import OpeningAlert

log = logging.getLogger(__name__)

PURGED_NAME = "Purged delegate"
PURGED_BOOKER = "Purged booker"
# Ids per DELETE: well inside SQLite's limit on bound parameters.
ID_BATCH = 1000
# Live references are "ABCD-2345"; "P" and the row's id (at most 8 digits in the column's 9
# characters) is unique and can never be mistaken for one, nor tell anyone who booked.
PURGED_REFERENCE_PREFIX = "P"


# The retention rule: delegates' personal data is kept this long after their event ends, so
# that they can fetch what their booking page offers them (feedback, a certificate); the
# Board purges from then on. Messages that tell delegates "until when" read purge_date.
KEPT_AFTER_EVENT = timedelta(days=365)


def purge_date(event: Event) -> date:
    """The London date from which the event's delegates' personal data is purged."""
    return london_date(event.ends_at + KEPT_AFTER_EVENT)


@dataclass(frozen=True)
class PurgeResult:
    before: date
    events: int
    bookings: int
    messages: int


def _cutoff(before: date) -> datetime:
    """Events that ended before London midnight at the start of ``before``."""
    return london_day_bounds(before)[0]


def _ended(before: date) -> Select:
    return select(Event.id).where(Event.ends_at < _cutoff(before))


def _targets(before: date) -> ColumnElement[bool]:
    """Bookings not yet purged, of events that ended before the day."""
    return and_(Booking.event_id.in_(_ended(before)), Booking.purged_at.is_(None))


def _groups(before: date) -> ColumnElement[bool]:
    """Team bookings not yet purged, of events that ended before the day: their bookers' names
    and addresses go with the delegates'."""
    return and_(BookingGroup.event_id.in_(_ended(before)), BookingGroup.purged_at.is_(None))


def preview(before: date) -> PurgeResult:
    """What a purge would do, without doing it."""
    condition = _targets(before)
    events, bookings = db.session.execute(
        select(func.count(func.distinct(Booking.event_id)), func.count(Booking.id)).where(condition)
    ).one()
    return PurgeResult(before, events, bookings, _messages_count(condition, before))


def _message_condition(condition: ColumnElement[bool], before: date) -> ColumnElement[bool]:
    """Messages about the purged bookings only.

    A link reminder names no single booking but lists every live booking at its address, so it
    goes only when that address keeps no booking this purge leaves alone. "Booking has opened"
    e-mails go with their ended events: they hold the only copy of the address.
    """
    purged_keys = select(Booking.email_key).where(condition)
    kept_keys = select(Booking.email_key).where(
        Booking.purged_at.is_(None), Booking.event_id.not_in(_ended(before))
    )
    recipient = func.lower(OutboxMessage.recipient)
    return or_(
        OutboxMessage.booking_id.in_(select(Booking.id).where(condition)),
        and_(
            OutboxMessage.kind == "team_summary",
            OutboxMessage.data["group"]
            .as_integer()
            .in_(select(BookingGroup.id).where(_groups(before))),
        ),
        and_(
            OutboxMessage.booking_id.is_(None),
            recipient.in_(purged_keys),
            recipient.not_in(kept_keys),
        ),
        and_(
            OutboxMessage.kind == "booking_opens",
            OutboxMessage.data["event"].as_integer().in_(_ended(before)),
        ),
    )


def _messages_count(condition: ColumnElement[bool], before: date) -> int:
    return db.session.scalar(
        select(func.count(OutboxMessage.id)).where(_message_condition(condition, before))
    )


def purge(
    before: date,
    now: datetime | None = None,
    user: OrganiserUser | None = None,
    ran_from: str = "",
) -> PurgeResult:
    """Replace personal data on bookings of events that ended before ``before``, as one unit of
    work that also holds the audit entry saying who purged what (``user``, by default the
    organiser signed in; ``ran_from`` names anything else, such as the command line).

    The ``.eml`` copies of the deleted messages go only once the purge is committed: a purge
    rolled back must not have lost them.
    """
    now = now or utcnow()
    condition = _targets(before)
    with unit_of_work():
        events = db.session.scalar(
            select(func.count(func.distinct(Booking.event_id))).where(condition)
        )
        message_ids = list(
            db.session.scalars(
                select(OutboxMessage.id).where(_message_condition(condition, before))
            )
        )
        messages = _delete_messages(message_ids)
        _unname_certificates(condition)
        bookings = _anonymise(condition, now)
        _delete_addresses(before)
        _anonymise_bookers(before, now)
        summary = (
            f"Purged personal data from {bookings} bookings at {events} events that ended "
            f"before {format_date(before)}; deleted {messages} outbox messages"
        )
        entry = accounts.audit(
            "privacy.purge",
            "privacy",
            None,
            f"{summary} ({ran_from})" if ran_from else summary,
            {"before": ["", before.isoformat()]},
            user=user,
        )
        who = entry.user_email or ran_from or "unknown"
    mail.remove_written(message_ids)
    log.info(
        "privacy purge before %s by %s: %d bookings at %d events purged, "
        "%d outbox messages deleted",
        before.isoformat(),
        who,
        bookings,
        events,
        messages,
    )
    return PurgeResult(before, events, bookings, messages)


def _delete_messages(message_ids: list[int]) -> int:
    deleted = 0
    for start in range(0, len(message_ids), ID_BATCH):
        deleted += db.session.execute(
            delete(OutboxMessage)
            .where(OutboxMessage.id.in_(message_ids[start : start + ID_BATCH]))
            .execution_options(synchronize_session=False)
        ).rowcount
    return deleted


def _unname_certificates(condition: ColumnElement[bool]) -> None:
    """A certificate keeps its number, which still verifies the event, its date and hours;
    the name printed on it goes with the booking's. Evaluation responses need nothing: they
    hold answers, and read the sector from the booking, which keeps it."""
    db.session.execute(
        update(Certificate)
        .where(Certificate.booking_id.in_(select(Booking.id).where(condition)))
        .values(issued_name="", show_name=False)
        .execution_options(synchronize_session=False)
    )


def _delete_addresses(before: date) -> None:
    """Addresses kept apart from bookings: "my bookings" links of addresses with no booking
    left (so the link stops working), and "tell me when booking opens" requests of the
    events purged (their e-mail can no longer be due)."""
    db.session.execute(
        delete(AddressLink)
        .where(
            AddressLink.email_key.not_in(
                select(Booking.email_key).where(Booking.purged_at.is_(None))
            )
        )
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        delete(OpeningAlert)
        .where(OpeningAlert.event_id.in_(_ended(before)))
        .execution_options(synchronize_session=False)
    )


def _anonymise_bookers(before: date, now: datetime) -> None:
    """Blank the bookers of the purged events' team bookings; their team links stop working."""
    marker = literal("purged-") + cast(BookingGroup.id, String)
    db.session.execute(
        update(BookingGroup)
        .where(_groups(before))
        .values(
            booker_name=PURGED_BOOKER,
            booker_email="",
            token_salt="",
            token_hash=marker,
            purged_at=now,
        )
        .execution_options(synchronize_session=False)
    )


def _anonymise(condition: ColumnElement[bool], now: datetime) -> int:
    """Blank what identifies the delegate on every booking ``condition`` selects."""
    row_id = cast(Booking.id, String)
    marker = literal("purged-") + row_id
    return db.session.execute(
        update(Booking)
        .where(condition)
        .values(
            reference=literal(PURGED_REFERENCE_PREFIX) + row_id,
            name=PURGED_NAME,
            email="",
            email_key=marker,
            organisation="",
            job_title="",
            dietary_needs="",
            access_needs="",
            # The manage link stops working: no token hashes to this.
            token_salt="",
            token_hash=marker,
            purged_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
