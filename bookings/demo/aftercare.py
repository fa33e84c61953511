"""The demo's recent event after the day: made-up evaluation answers and certificates.

Written through the evaluation's and certificates' own rules, so the demo shows what they
allow; each row is marked ``demo``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bookings.booking.models import Booking, BookingStatus
from bookings.certificates import service as certificates
from bookings.certificates.models import CertificateSettings
from bookings.db import db, unit_of_work
from bookings.demo import data
from bookings.evaluation import service as evaluation
from bookings.events.models import Event


def load(event: Event, now: datetime) -> dict[str, int]:
    settings = data()["now"]["aftercare"]
    with unit_of_work():
        attended = list(
            db.session.scalars(
                select(Booking.id)
                .where(
                    Booking.event_id == event.id,
                    Booking.attended_at.is_not(None),
                    Booking.status == BookingStatus.confirmed,
                )
                .order_by(Booking.id)
            )
        )
        db.session.add(CertificateSettings(event_id=event.id, level=settings["level"]))
        answering = attended[: round(len(attended) * settings["answered"])]
        issued = 0
        for n, booking_id in enumerate(answering):
            ratings = settings["ratings"][n % len(settings["ratings"])]
            text = settings["answers"][n % len(settings["answers"])]
            answers = [evaluation.Answer(rating=r) for r in ratings]
            answers.append(evaluation.Answer(text=text, may_quote=n % settings["quote_every"] == 0))
            evaluation.submit(booking_id, answers, now=now, demo=True)
            if n < len(answering) * settings["certificates"]:
                certificates.issue(booking_id, now=now, demo=True)
                if n % settings["named_every"] == 0:
                    certificates.set_show_name(booking_id, True)
                issued += 1
    return {"evaluation responses (demo)": len(answering), "certificates (demo)": issued}
