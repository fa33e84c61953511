"""The certificates' rules: who may have one, its number, what it says, who sees the name.

A certificate is numbered once, when first asked for, and keeps its number for good: a name an
organiser corrects reissues it under the same number. It keeps the event's title and date, the
hours and the level as issued (later edits to the event change only certificates not yet
issued). The public verification page confirms those; it names the delegate only if the
delegate chose so. The purge
blanks the name kept on the certificate (``privacy.service``); the number still verifies, and no
new certificate can be made for a purged booking.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bookings.accounts import service as accounts
from bookings.booking import service as booking_service
from bookings.booking.models import Booking, BookingStatus
from bookings.certificates.models import Certificate, CertificateSettings
from bookings.db import db, unit_of_work, utcnow
from bookings.evaluation import service as evaluation
from bookings.events.models import Event, ProgrammeSlot, SlotKind
from bookings.london import format_date, london_date

# Sessions that are not learning: arriving, eating, resting.
NOT_LEARNING = (SlotKind.registration, SlotKind.break_, SlotKind.lunch)
ROUND_TO_MINUTES = 15
NUMBER_ALPHABET = booking_service.REFERENCE_ALPHABET
MAX_MINUTES = 100 * 60


class CertificateRefused(Exception):
    """Why this booking cannot have a certificate (now); the message is for the delegate."""


@dataclass(frozen=True)
class CertificateFacts:
    """What an event's certificates say beyond the event: the hours (the organisers' own, or
    the default worked out from the programme), the level and the evaluation switch."""

    minutes: int
    default_minutes: int
    chosen_minutes: int | None
    level: str
    after_evaluation: bool


@dataclass(frozen=True)
class Offer:
    """What the manage page offers: the certificate if issued, or why none can be had yet
    ("" when one can be made now)."""

    certificate: Certificate | None
    refusal: str
    shown: bool
    # Whether the page has anything to say: a certificate, or the delegate attended.
    invited: bool = True


@dataclass(frozen=True)
class CertificateView:
    number: str
    name: str | None
    event_title: str
    event_date: str
    hours: str
    level: str
    issued_on: str
    reissued_on: str


def _rounded(minutes: float) -> int:
    return max(ROUND_TO_MINUTES, round(minutes / ROUND_TO_MINUTES) * ROUND_TO_MINUTES)


def default_minutes(event: Event, slots: list[ProgrammeSlot]) -> int:
    """The learning in the programme's timed sessions (overlapping ones counted once, breaks,
    lunch and registration left out); without any, the event's own span."""
    spans = sorted(
        (s.starts_at, s.ends_at)
        for s in slots
        if s.ends_at is not None and s.kind not in NOT_LEARNING
    )
    total = timedelta()
    current: tuple[datetime, datetime] | None = None
    for start, end in spans:
        if current and start <= current[1]:
            current = (current[0], max(current[1], end))
            continue
        if current:
            total += current[1] - current[0]
        current = (start, end)
    if current:
        total += current[1] - current[0]
    if not total:
        total = event.ends_at - event.starts_at
    return _rounded(total.total_seconds() / 60)


def hours_text(minutes: int) -> str:
    """ "1 hour", "2.5 hours", "6.25 hours"."""
    hours = minutes / 60
    return "1 hour" if minutes == 60 else f"{hours:g} hours"


def _settings(event_id: int) -> CertificateSettings | None:
    return db.session.get(CertificateSettings, event_id)


def facts(event: Event) -> CertificateFacts:
    settings = _settings(event.id)
    slots = list(
        db.session.scalars(select(ProgrammeSlot).where(ProgrammeSlot.event_id == event.id))
    )
    default = default_minutes(event, slots)
    chosen = settings.learning_minutes if settings else None
    return CertificateFacts(
        minutes=chosen or default,
        default_minutes=default,
        chosen_minutes=chosen,
        level=settings.level if settings else "",
        after_evaluation=settings.after_evaluation if settings else False,
    )


def save_settings(
    event_id: int, minutes: int | None, level: str, after_evaluation: bool
) -> CertificateSettings:
    """Organisers set the hours (None: from the programme), the level and the switch."""
    if minutes is not None and not 0 < minutes <= MAX_MINUTES:
        raise CertificateRefused("Enter the hours of learning, from 0.25 to 100.")
    with unit_of_work():
        event = booking_service.lock_event(event_id)
        settings = _settings(event_id)
        if settings is None:
            settings = CertificateSettings(event_id=event_id)
            db.session.add(settings)
        before = (settings.learning_minutes, settings.level or "", bool(settings.after_evaluation))
        settings.learning_minutes = minutes
        settings.level = level.strip()
        settings.after_evaluation = after_evaluation
        after = (minutes, settings.level, after_evaluation)
        accounts.audit(
            "certificates.settings",
            "event",
            event_id,
            f"Changed the certificates of {event.title}",
            {
                name: [str(was), str(now)]
                for name, was, now in zip(
                    ("minutes", "level", "after_evaluation"), before, after, strict=True
                )
                if was != now
            },
        )
        return settings


def certificate_of(booking_id: int) -> Certificate | None:
    return db.session.scalar(select(Certificate).where(Certificate.booking_id == booking_id))


def _refusal(booking: Booking, event: Event, after_evaluation: bool, now: datetime) -> str:
    if booking.purged_at is not None:
        return (
            "No certificate can be made for this booking any more: its personal data was "
            f"deleted on {format_date(booking.purged_at)}, as the Board's privacy notice says."
        )
    if booking.status != BookingStatus.confirmed or booking.attended_at is None:
        return "Certificates are for delegates who were checked in at the event."
    if now < event.ends_at:
        return "Your certificate can be downloaded here once the event is over."
    if after_evaluation and not evaluation.has_answered(booking.id):
        return "Please give your feedback first: your certificate follows at once."
    return ""


def offer(booking: Booking, now: datetime | None = None) -> Offer:
    """What the manage page shows about the certificate."""
    now = now or utcnow()
    certificate = certificate_of(booking.id)
    if certificate is not None:
        return Offer(certificate, "", certificate.show_name)
    if booking.attended_at is None or booking.status != BookingStatus.confirmed:
        return Offer(None, "", False, invited=False)
    settings = _settings(booking.event_id)
    refusal = _refusal(booking, booking.event, bool(settings and settings.after_evaluation), now)
    return Offer(None, refusal, False)


def _new_number(event: Event) -> str:
    """ "LSCB-2026-ABCD-2345": the event's year, then 40 bits of chance."""
    while True:
        raw = "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(8))
        number = f"LSCB-{london_date(event.starts_at).year}-{raw[:4]}-{raw[4:]}"
        if db.session.scalar(select(Certificate.id).where(Certificate.number == number)) is None:
            return number


def issue(booking_id: int, now: datetime | None = None, demo: bool = False) -> Certificate:
    """The booking's certificate, numbered now if it has none (an issued one is kept whatever
    the event's settings later say)."""
    now = now or utcnow()
    with unit_of_work():
        booking = db.session.get(Booking, booking_id)
        if booking is None:
            raise CertificateRefused("There is no such booking.")
        event = booking_service.lock_event(booking.event_id)
        db.session.refresh(booking)
        if (existing := certificate_of(booking_id)) is not None:
            return existing
        settings = _settings(event.id)
        if refusal := _refusal(booking, event, bool(settings and settings.after_evaluation), now):
            raise CertificateRefused(refusal)
        known = facts(event)
        certificate = Certificate(
            booking_id=booking.id,
            number=_new_number(event),
            issued_name=booking.name,
            issued_at=now,
            demo=demo,
            event_title=event.title,
            event_date=format_date(event.starts_at),
            learning_minutes=known.minutes,
            level=known.level,
        )
        db.session.add(certificate)
        db.session.flush()
        return certificate


def set_show_name(booking_id: int, show: bool) -> Certificate:
    """The delegate's choice: whether the public verification page gives their name."""
    with unit_of_work():
        certificate = certificate_of(booking_id)
        if certificate is None:
            raise CertificateRefused("There is no certificate for this booking yet.")
        certificate.show_name = show
        return certificate


def correct_name(event_id: int, booking_id: int, name: str, now: datetime | None = None) -> Booking:
    """An organiser corrects a delegate's name: the booking and its certificate, reissued under
    the same number. Only the name changes: the event, date, hours and level stay as first
    issued, so a reissue never quietly changes what the holder was certified for."""
    now = now or utcnow()
    name = name.strip()
    if not name:
        raise CertificateRefused("Enter the delegate's name.")
    with unit_of_work():
        booking_service.lock_event(event_id)
        booking = db.session.get(Booking, booking_id)
        if booking is None or booking.event_id != event_id:
            raise CertificateRefused("There is no such booking at this event.")
        if booking.purged_at is not None:
            raise CertificateRefused("This booking's personal data has been deleted.")
        booking.name = name
        certificate = certificate_of(booking_id)
        if certificate is not None and certificate.issued_name != name:
            certificate.issued_name = name
            certificate.reissued_at = now
        accounts.audit(
            "certificates.name",
            "booking",
            booking.id,
            f"Corrected the name on booking {booking.reference}"
            + (f", certificate {certificate.number} reissued" if certificate else ""),
        )
        return booking


def issued_for_event(event_id: int) -> list[Certificate]:
    """The event's certificates with their bookings, for the console (two queries)."""
    return list(
        db.session.scalars(
            select(Certificate)
            .join(Booking, Booking.id == Certificate.booking_id)
            .options(selectinload(Certificate.booking))
            .where(Booking.event_id == event_id)
            .order_by(Booking.name, Booking.id)
        )
    )


def _view(certificate: Certificate, event: Event, *, with_name: bool) -> CertificateView:
    """The certificate as issued; one issued before its facts were kept shows the event's
    current ones."""
    if certificate.learning_minutes is None:
        known = facts(event)
        minutes, level = known.minutes, known.level
    else:
        minutes, level = certificate.learning_minutes, certificate.level or ""
    return CertificateView(
        number=certificate.number,
        name=(certificate.issued_name or None) if with_name else None,
        event_title=certificate.event_title or event.title,
        event_date=certificate.event_date or format_date(event.starts_at),
        hours=hours_text(minutes),
        level=level,
        issued_on=format_date(certificate.issued_at),
        reissued_on=format_date(certificate.reissued_at) if certificate.reissued_at else "",
    )


def for_delegate(booking: Booking) -> CertificateView | None:
    """The certificate as its delegate downloads it, with their name."""
    certificate = certificate_of(booking.id)
    if certificate is None or booking.purged_at is not None:
        return None
    return _view(certificate, booking.event, with_name=True)


def verification(number: str) -> CertificateView | None:
    """What anyone holding the number may confirm: the name only if the delegate chose so and
    it has not been purged."""
    if not number or len(number) > 24:
        return None
    found = db.session.execute(
        select(Certificate, Event)
        .join(Booking, Booking.id == Certificate.booking_id)
        .join(Event, Event.id == Booking.event_id)
        .where(Certificate.number == number.strip().upper())
    ).first()
    if found is None:
        return None
    certificate, event = found
    return _view(certificate, event, with_name=certificate.show_name)
