"""The rules of "tell me when booking opens".

The e-mail is written by a job the sender runs before each round (``mail.every_round``). It
reads the event's opening time as it is then, so a moved opening moves the e-mail. Several
senders run the job at once: each alert is deleted by its own conditional DELETE in the job's
unit of work, and only the transaction whose DELETE removed the row queues its e-mail (the
other waits on the row's lock and then deletes nothing). So one e-mail per alert, and the
address is gone from the alerts once it is written.
"""

from __future__ import annotations

import hashlib
import hmac
from base64 import urlsafe_b64encode
from datetime import datetime

from flask import current_app
from sqlalchemy import and_, delete, or_, select

from bookings.booking import service as booking_service
from bookings.db import db, insert_ignoring_duplicates, unit_of_work, utcnow
from bookings.events.models import Event, EventStatus
from bookings.mail import service as mail
from bookings.openings.models import OpeningAlert

MAIL_KIND = "booking_opens"


def unsubscribe_token(email_key: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, b"opening-alerts:" + email_key.encode(), hashlib.sha256).digest()
    return urlsafe_b64encode(digest).rstrip(b"=").decode()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def offered(event: Event, now: datetime | None = None) -> bool:
    """The form is shown on a published event whose booking opens later."""
    opens = event.booking_opens_at
    return (
        event.status == EventStatus.published
        and opens is not None
        and opens > (now or utcnow())
        and event.ends_at > opens
    )


def subscribe(event_id: int, address: str, now: datetime | None = None) -> None:
    """Keep the address for the event's opening; a second request for the same address and
    event changes nothing. The page says the same whatever happened."""
    now = now or utcnow()
    with unit_of_work():
        event = db.session.get(Event, event_id)
        if event is None or not offered(event, now):
            return
        key = booking_service.email_key(address)
        db.session.execute(
            insert_ignoring_duplicates(OpeningAlert)
            .values(
                event_id=event.id,
                email=address.strip(),
                email_key=key,
                token_hash=_hash(unsubscribe_token(key)),
                created_at=now,
            )
            .on_conflict_do_nothing()
        )


def unsubscribe(token: str) -> int:
    """Delete every alert of the link's address; returns how many."""
    if not token or len(token) > 100:
        return 0
    with unit_of_work():
        return db.session.execute(
            delete(OpeningAlert)
            .where(OpeningAlert.token_hash == _hash(token))
            .execution_options(synchronize_session=False)
        ).rowcount


def waiting(event_id: int) -> int:
    """How many addresses wait for the event's opening (the console shows the number)."""
    return db.session.scalar(
        select(db.func.count()).select_from(OpeningAlert).where(OpeningAlert.event_id == event_id)
    )


@mail.every_round("tell when booking opens")
def tell_opened(now: datetime) -> int:
    """Queue the e-mail of every alert whose event's booking is open now, deleting the alert
    in the same unit of work; alerts of events cancelled or over go without one (a draft's
    wait until it is published again)."""
    rows = db.session.execute(
        select(OpeningAlert.id, OpeningAlert.email, OpeningAlert.event_id, Event.status)
        .join(Event, OpeningAlert.event_id == Event.id)
        .where(
            or_(
                Event.status == EventStatus.cancelled,
                Event.ends_at <= now,
                and_(
                    Event.status == EventStatus.published,
                    or_(Event.booking_opens_at.is_(None), Event.booking_opens_at <= now),
                ),
            )
        )
        .order_by(OpeningAlert.id)
        .limit(1000)
    ).all()
    told = 0
    for alert_id, email, event_id, status in rows:
        deleted = db.session.execute(
            delete(OpeningAlert)
            .where(OpeningAlert.id == alert_id)
            .execution_options(synchronize_session=False)
        ).rowcount
        if deleted != 1:
            continue
        event = db.session.get(Event, event_id)
        if status == EventStatus.published and event is not None and event.ends_at > now:
            mail.queue(MAIL_KIND, email, data={"event": event_id})
            told += 1
    return told
