"""Links that put a feed or an event into someone's calendar (Apple, Google, Outlook, any app)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from flask import url_for

from bookings.events.models import Event

GOOGLE_SUBSCRIBE = "https://calendar.google.com/calendar/r"
OUTLOOK_SUBSCRIBE = "https://outlook.live.com/calendar/0/addfromweb"
OUTLOOK_WORK_SUBSCRIBE = "https://outlook.office.com/calendar/0/addfromweb"
GOOGLE_TEMPLATE = "https://calendar.google.com/calendar/render"
OUTLOOK_COMPOSE = "https://outlook.office.com/calendar/0/deeplink/compose"


def _query(params: dict[str, str], safe: str = "") -> str:
    return urlencode(params, quote_via=quote, safe=safe)


def webcal(url: str) -> str:
    """The same address with the webcal scheme, which calendar apps open as a subscription."""
    _scheme, rest = url.split("://", 1)
    return f"webcal://{rest}"


@dataclass(frozen=True)
class SubscribeLinks:
    name: str
    https: str  # the feed itself: to copy into any calendar app
    webcal: str  # Apple Calendar, Outlook for Windows and Mac, Thunderbird
    google: str
    outlook: str  # Outlook.com (personal accounts)
    outlook_work: str  # Outlook on the web with a work or school account (Microsoft 365)


def subscribe_links(endpoint: str, name: str, **values) -> SubscribeLinks:
    https = url_for(endpoint, _external=True, **values)
    outlook_query = _query({"url": https, "name": name})
    return SubscribeLinks(
        name=name,
        https=https,
        webcal=webcal(https),
        google=f"{GOOGLE_SUBSCRIBE}?{_query({'cid': webcal(https)})}",
        outlook=f"{OUTLOOK_SUBSCRIBE}?{outlook_query}",
        outlook_work=f"{OUTLOOK_WORK_SUBSCRIBE}?{outlook_query}",
    )


@dataclass(frozen=True)
class AddLinks:
    ics: str  # the one-event file, the same as the confirmation e-mail's attachment
    google: str
    outlook: str
    subscribe: SubscribeLinks  # the event and its programme, kept up to date


def _utc(value: datetime, style: str) -> str:
    return value.astimezone(UTC).strftime(style)


def add_to_calendar_links(event: Event) -> AddLinks:
    page = url_for("events.show", slug=event.slug, _external=True)
    location = event.venue.full_address if event.venue else ""
    details = "\n\n".join(part for part in (event.summary, f"Details: {page}") if part)
    google = {
        "action": "TEMPLATE",
        "text": event.title,
        "dates": "/".join(_utc(t, "%Y%m%dT%H%M%SZ") for t in (event.starts_at, event.ends_at)),
        "details": details,
        "location": location,
    }
    outlook = {
        "subject": event.title,
        "startdt": _utc(event.starts_at, "%Y-%m-%dT%H:%M:%SZ"),
        "enddt": _utc(event.ends_at, "%Y-%m-%dT%H:%M:%SZ"),
        "location": location,
        "body": details,
    }
    return AddLinks(
        ics=url_for("feeds.event_file", slug=event.slug, _external=True),
        google=f"{GOOGLE_TEMPLATE}?{_query(google, safe='/')}",  # dates=START/END
        outlook=f"{OUTLOOK_COMPOSE}?{_query(outlook)}",
        subscribe=subscribe_links("feeds.event", event.title, slug=event.slug),
    )
