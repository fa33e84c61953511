"""What is going on in the demo, as the data file's ``[now]`` says: bookings on the upcoming
events (one of them full, with a waiting list) and what the demo organiser did lately (the audit
log and the messages kept with their events).

All in one unit of work, after the rest of the demo is in. Messages are kept as the console keeps
them, but never put in the outbox: `make mail` has nothing to send to anyone made up.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bookings.accounts import service as accounts
from bookings.accounts.models import OrganiserUser
from bookings.booking.service import audience_size
from bookings.db import db, unit_of_work
from bookings.demo import data
from bookings.demo.delegates import book_upcoming
from bookings.events.models import Event, EventMessage
from bookings.london import london_date, london_datetime


def _entry(spec: dict[str, Any], event: Event, at: datetime, user: OrganiserUser) -> None:
    """One line of ``[[now.log]]``: its audit entry, worded as the console words it, and for a
    message the copy kept with the event."""
    if spec["did"] == "created":
        accounts.audit(
            "event.create", "event", event.id, f"Created draft {event.title}", user=user
        ).at = at
    elif spec["did"] == "published":
        accounts.audit(
            "event.publish",
            "event",
            event.id,
            f"Published {event.title}",
            {"status": ["draft", "published"]},
            user=user,
        ).at = at
    else:
        audience, subject = spec["audience"], spec["subject"]
        told = audience_size(event.id, audience, at)
        db.session.add(
            EventMessage(
                event_id=event.id,
                audience=audience,
                subject=subject,
                body=spec["body"].strip(),
                recipients=told,
                sent_by=user.email,
                sent_at=at,
            )
        )
        accounts.audit(
            "event.message",
            "event",
            event.id,
            f"E-mailed {told} delegates ({audience}): {subject}",
            user=user,
        ).at = at


def load(
    organiser: OrganiserUser, copies: dict[str, Event], opened_at: datetime, now: datetime
) -> dict[str, int]:
    """Book the upcoming copies and write the organiser's recent activity; ``copies`` are the
    season's (and the recent) copies by the slug of the archived event they copy."""
    settings = data()["now"]
    log = settings["log"]
    today = london_date(now)
    with unit_of_work():
        upcoming = [event for event in copies.values() if event.starts_at > now]
        summary = book_upcoming(upcoming, copies[settings["full"]], opened_at, now)
        for spec in log:
            at = london_datetime(today - timedelta(days=spec["days_ago"]), spec["at"])
            _entry(spec, copies[spec["event"]], at, organiser)
    messages = sum(1 for spec in log if spec["did"] == "message")
    return summary | {"audit log entries": len(log), "organiser messages": messages}
