"""An event's questionnaire, and one response per attended booking.

A response points at its booking and reads the sector from it: the purge blanks who the
delegate was on the booking and leaves the sector, the response and its answers alone
(invariant 5), so the results stay exact after it.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bookings.booking.models import Booking
from bookings.db import UTCDateTime, db, string_enum, utcnow


class QuestionKind(enum.StrEnum):
    rating = "rating"
    text = "text"

    @property
    def label(self) -> str:
        return "Rating from 1 to 5" if self is QuestionKind.rating else "Free text"


class Evaluation(db.Model):
    """An event's questionnaire once saved: until then the Board's default set is shown."""

    __tablename__ = "evaluations"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    # None: four weeks after the event ends (``service.closes_at``).
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    questions: Mapped[list[EvaluationQuestion]] = relationship(
        order_by="EvaluationQuestion.position", cascade="all, delete-orphan"
    )


class EvaluationQuestion(db.Model):
    __tablename__ = "evaluation_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("evaluations.event_id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[QuestionKind] = mapped_column(string_enum(QuestionKind, "question_kind"))
    text: Mapped[str] = mapped_column(String(300))


class EvaluationResponse(db.Model):
    """One booking's answers: the unique booking is what makes "one response" true under any
    concurrency."""

    __tablename__ = "evaluation_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), unique=True
    )
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    demo: Mapped[bool] = mapped_column(default=False)

    booking: Mapped[Booking] = relationship()
    answers: Mapped[list[EvaluationAnswer]] = relationship(cascade="all, delete-orphan")


class EvaluationAnswer(db.Model):
    __tablename__ = "evaluation_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("evaluation_responses.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[int] = mapped_column(
        ForeignKey("evaluation_questions.id", ondelete="CASCADE"), index=True
    )
    rating: Mapped[int | None] = mapped_column()
    text: Mapped[str] = mapped_column(Text, default="")
    may_quote: Mapped[bool] = mapped_column(default=False)
