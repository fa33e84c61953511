"""What a delegate reads in each scheduled message, checked again when it goes.

A row is written when its message falls due (``service.write_due``); by the time a sender
takes it the booking may be cancelled, waitlisted or purged, the event cancelled or moved, or
the message turned off. So the renderer decides again from the records as they then stand:
withdrawn (:class:`~bookings.mail.service.NotSendable`) when it can no longer make sense, put
back (:class:`~bookings.mail.service.NotYet`) when its event moved later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from bookings.booking import service as booking_service
from bookings.booking.models import Booking, BookingStatus
from bookings.certificates import service as certificates
from bookings.evaluation import service as evaluation
from bookings.events.models import Event, EventStatus
from bookings.london import format_date, format_datetime, london_date
from bookings.mail import service as mail
from bookings.mail.models import OutboxMessage
from bookings.privacy import service as privacy
from bookings.scheduled.models import (
    ScheduledKind,
    ScheduledSetting,
    Setting,
    setting_for,
    window,
)

# What a preview shows instead of a delegate's private link.
LINK_PLACEHOLDER = "[their private booking link]"


@dataclass(frozen=True)
class SampleDelegate:
    """Whom a preview is addressed to: placeholders where each delegate's details go."""

    event: Event
    name: str = "[delegate's name]"
    reference: str = "[their booking reference]"


@dataclass(frozen=True)
class Aftercare:
    """What the thank-you may promise on the booking page, true when it is sent: the feedback
    form's closing time ("" unless it is open), whether the delegate has answered, and the
    certificate: "now", "after_feedback" or "" (none to offer)."""

    feedback_until: str = ""
    answered: bool = False
    certificate: str = ""


def aftercare(booking: Booking | SampleDelegate, now: datetime) -> Aftercare:
    """A preview shows what a delegate who has not answered yet would read."""
    if isinstance(booking, SampleDelegate):
        closes = evaluation.questionnaire(booking.event, now).closes_at
        after_feedback = certificates.facts(booking.event).after_evaluation
        return Aftercare(
            format_datetime(closes), False, "after_feedback" if after_feedback else "now"
        )
    invited = evaluation.invitation(booking, now)
    offer = certificates.offer(booking, now)
    is_open = invited.state == evaluation.InvitationState.open
    if offer.certificate is not None or (offer.invited and not offer.refusal):
        certificate = "now"
    elif is_open and certificates.facts(booking.event).after_evaluation:
        certificate = "after_feedback"
    else:
        certificate = ""
    return Aftercare(
        format_datetime(invited.closes_at) if is_open else "",
        invited.state == evaluation.InvitationState.answered,
        certificate,
    )


def words(
    setting: Setting,
    booking: Booking | SampleDelegate,
    manage_url: str,
    now: datetime,
) -> mail.Rendered:
    """The message of ``setting``'s kind for ``booking``, as sent at ``now``."""
    event = booking.event
    first = london_date(event.starts_at)
    days_to_go = (first - london_date(now)).days
    context: dict[str, Any] = {
        "booking": booking,
        "event": event,
        "venue": event.venue,
        "manage_url": manage_url,
        "intro": setting.intro,
        "briefing": setting.briefing,
        # Read only where shown: each message is rendered on its own when it goes.
        "slots": event.slots if setting.kind == ScheduledKind.joining else [],
        "when": "tomorrow" if days_to_go == 1 else f"on {format_date(first)}",
        "kept_until": format_date(privacy.purge_date(event) - timedelta(days=1)),
    }
    if setting.kind == ScheduledKind.thanks:
        context["aftercare"] = aftercare(booking, now)
    return mail.from_templates(
        f"scheduled_{setting.kind.value}", setting.subject_for(event), **context
    )


def _checked(message: OutboxMessage, session: Session, kind: ScheduledKind) -> mail.Rendered:
    booking = session.get(Booking, message.booking_id) if message.booking_id else None
    if booking is None:
        raise mail.NotSendable("the booking no longer exists")
    if booking.purged_at is not None:
        raise mail.NotSendable("the booking's personal data has been purged")
    if booking.status != BookingStatus.confirmed:
        raise mail.NotSendable("the booking is no longer confirmed")
    event = booking.event
    if event.status != EventStatus.published:
        raise mail.NotSendable("the event is cancelled")
    setting = _setting(session, event.id, kind)
    if not setting.enabled:
        raise mail.NotSendable("the organisers turned this message off")
    now = mail.sending_time()
    due = window(event, setting)
    if now < due.opens:
        raise mail.NotYet(due.opens, "the event moved later")
    if now >= due.closes:
        raise mail.NotSendable("its time has passed (the event moved or began)")
    if kind == ScheduledKind.thanks and booking.attended_at is None:
        raise mail.NotSendable("the delegate is not recorded as attending")
    if kind == ScheduledKind.missed and (
        booking.attended_at is not None or not _attendance_taken(session, event.id)
    ):
        raise mail.NotSendable("the delegate attended, or attendance was not taken")
    return words(setting, booking, booking_service.manage_url(booking), now)


def _setting(session: Session, event_id: int, kind: ScheduledKind) -> Setting:
    settings = (mail.batch_memo(session) or {}).get(_SETTINGS)
    if settings is not None and event_id in settings:
        return Setting.of(kind, settings[event_id].get(kind))
    return setting_for(session, event_id, kind)


_SETTINGS = "scheduled settings"
_BOOKINGS = "scheduled bookings"


@mail.preloader(*(kind.mail_kind for kind in ScheduledKind))
def _preload(session: Session, messages: list[OutboxMessage]) -> None:
    """A batch's bookings, their events and venues, and the events' settings, in two queries
    rather than several per message."""
    ids = {message.booking_id for message in messages if message.booking_id}
    if not ids:
        return
    bookings = session.scalars(
        select(Booking)
        .where(Booking.id.in_(ids))
        .options(joinedload(Booking.event).joinedload(Event.venue))
    ).all()
    events = {booking.event_id for booking in bookings}
    settings: dict[int, dict[ScheduledKind, ScheduledSetting]] = {e: {} for e in events}
    for row in session.scalars(
        select(ScheduledSetting).where(ScheduledSetting.event_id.in_(events))
    ):
        settings[row.event_id][row.kind] = row
    memo = mail.batch_memo(session)
    if memo is not None:
        memo[_SETTINGS] = settings
        memo[_BOOKINGS] = bookings  # the session holds them weakly: kept for session.get


def _attendance_taken(session: Session, event_id: int) -> bool:
    return (
        session.scalar(
            select(Booking.id)
            .where(Booking.event_id == event_id, Booking.attended_at.is_not(None))
            .limit(1)
        )
        is not None
    )


def _register(kind: ScheduledKind) -> None:
    @mail.renderer(kind.mail_kind)
    def render(message: OutboxMessage, session: Session) -> mail.Rendered:
        return _checked(message, session, kind)

    render.__qualname__ = f"render_{kind.value}"


for _kind in ScheduledKind:
    _register(_kind)
