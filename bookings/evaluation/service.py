"""The evaluation's rules: the questionnaire, who is invited, the one response per booking,
and the results the Board reports.

The questionnaire opens when its event ends and closes at its closing date (four weeks later
unless organisers say otherwise). Until its first save the Board's default set is shown; it is
written to the database, under the event's lock, by whichever comes first: an organiser's edit
or the first response. Only attended delegates are invited. A sector's own figures are shown
only with ``SECTOR_THRESHOLD`` responses or more, and the smaller ones are grouped so that no
group under it can be worked out by taking the rows shown from the totals: the one probation
officer at a seminar cannot be picked out of the breakdown.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from bookings.accounts import service as accounts
from bookings.booking import service as booking_service
from bookings.booking.models import Booking, BookingStatus, Sector
from bookings.db import db, unit_of_work, utcnow
from bookings.evaluation.models import (
    Evaluation,
    EvaluationAnswer,
    EvaluationQuestion,
    EvaluationResponse,
    QuestionKind,
)
from bookings.events.models import Event
from bookings.london import format_date, format_datetime
from bookings.web.downloads import spreadsheet_csv

DEFAULT_CLOSING = timedelta(weeks=4)
SECTOR_THRESHOLD = 5
RATINGS = (1, 2, 3, 4, 5)
OTHER_SECTORS = "Other sectors"

# The Board's default set.
DEFAULT_QUESTIONS: tuple[tuple[QuestionKind, str], ...] = (
    (QuestionKind.rating, "How good was the content?"),
    (QuestionKind.rating, "How good were the speakers?"),
    (QuestionKind.rating, "How well was the event organised?"),
    (QuestionKind.rating, "How relevant was it to your practice?"),
    (QuestionKind.text, "What will you do differently as a result of this event?"),
)
RATING_WORDS = {1: "1 (poor)", 2: "2", 3: "3", 4: "4", 5: "5 (excellent)"}


class EvaluationRefused(Exception):
    """A change the rules refuse; the message says why, for the person who tried."""


class AlreadyAnswered(EvaluationRefused):
    def __init__(self) -> None:
        super().__init__("You have already given your feedback on this event. Thank you.")


@dataclass(frozen=True)
class Question:
    """A question as shown: saved (with an id) or one of the defaults not yet saved."""

    position: int
    kind: QuestionKind
    text: str
    id: int | None = None


@dataclass(frozen=True)
class Answer:
    rating: int | None = None
    text: str = ""
    may_quote: bool = False


@dataclass(frozen=True)
class Questionnaire:
    event: Event
    questions: list[Question]
    saved: bool
    opens_at: datetime
    closes_at: datetime
    responses: int
    # Why the questions can no longer change ("" while they can).
    locked: str


class InvitationState(enum.StrEnum):
    not_invited = "not_invited"
    not_open = "not_open"
    open = "open"
    answered = "answered"
    closed = "closed"


@dataclass(frozen=True)
class Invitation:
    state: InvitationState
    opens_at: datetime
    closes_at: datetime
    questions: list[Question]


def _evaluation(event_id: int) -> Evaluation | None:
    return db.session.scalar(
        select(Evaluation)
        .options(selectinload(Evaluation.questions))
        .where(Evaluation.event_id == event_id)
    )


def _questions(evaluation: Evaluation | None) -> list[Question]:
    if evaluation is None:
        return [Question(i, kind, text) for i, (kind, text) in enumerate(DEFAULT_QUESTIONS)]
    return [Question(i, q.kind, q.text, q.id) for i, q in enumerate(evaluation.questions)]


def closing_time(event: Event, evaluation: Evaluation | None) -> datetime:
    if evaluation is not None and evaluation.closes_at is not None:
        return evaluation.closes_at
    return event.ends_at + DEFAULT_CLOSING


def _responses(event_id: int) -> int:
    return db.session.scalar(
        select(func.count(EvaluationResponse.id)).where(EvaluationResponse.event_id == event_id)
    )


def _locked(event: Event, responses: int, now: datetime) -> str:
    if responses:
        return "The questions cannot change: delegates have answered them."
    if now >= event.ends_at:
        return "The questions cannot change: the evaluation opened when the event ended."
    return ""


def questionnaire(event: Event, now: datetime | None = None) -> Questionnaire:
    now = now or utcnow()
    evaluation = _evaluation(event.id)
    responses = _responses(event.id)
    return Questionnaire(
        event=event,
        questions=_questions(evaluation),
        saved=evaluation is not None,
        opens_at=event.ends_at,
        closes_at=closing_time(event, evaluation),
        responses=responses,
        locked=_locked(event, responses, now),
    )


def _materialised(event_id: int) -> Evaluation:
    """The event's saved questionnaire, written with the defaults if there is none yet; the
    caller holds the event's lock, so two first uses cannot both write one."""
    evaluation = _evaluation(event_id)
    if evaluation is None:
        evaluation = Evaluation(event_id=event_id)
        evaluation.questions = [
            EvaluationQuestion(position=i, kind=kind, text=text)
            for i, (kind, text) in enumerate(DEFAULT_QUESTIONS)
        ]
        db.session.add(evaluation)
        db.session.flush()
    return evaluation


def save_questions(
    event_id: int, rows: list[tuple[QuestionKind, str]], now: datetime | None = None
) -> Evaluation:
    """Replace the questions (in order; blank rows dropped) while the evaluation has not
    opened."""
    now = now or utcnow()
    rows = [(kind, text.strip()) for kind, text in rows if text.strip()]
    if not rows:
        raise EvaluationRefused("Keep at least one question.")
    with unit_of_work():
        event = booking_service.lock_event(event_id)
        if locked := _locked(event, _responses(event_id), now):
            raise EvaluationRefused(locked)
        evaluation = _materialised(event_id)
        before = [f"{q.kind.value}: {q.text}" for q in evaluation.questions]
        evaluation.questions = [
            EvaluationQuestion(position=i, kind=kind, text=text)
            for i, (kind, text) in enumerate(rows)
        ]
        after = [f"{kind.value}: {text}" for kind, text in rows]
        accounts.audit(
            "evaluation.questions",
            "event",
            event_id,
            f"Changed the evaluation questions of {event.title}",
            {"questions": ["\n".join(before), "\n".join(after)]},
        )
        return evaluation


def set_closing(event_id: int, closes_at: datetime) -> Evaluation:
    """Organisers move the closing date; it cannot come before the evaluation opens."""
    with unit_of_work():
        event = booking_service.lock_event(event_id)
        if closes_at <= event.ends_at:
            raise EvaluationRefused("The closing date must come after the event ends.")
        evaluation = _materialised(event_id)
        was = closing_time(event, evaluation)
        evaluation.closes_at = closes_at
        accounts.audit(
            "evaluation.closing",
            "event",
            event_id,
            f"Set the evaluation of {event.title} to close at {format_datetime(closes_at)}",
            {"closes_at": [format_datetime(was), format_datetime(closes_at)]},
        )
        return evaluation


def has_answered(booking_id: int) -> bool:
    return (
        db.session.scalar(
            select(EvaluationResponse.id).where(EvaluationResponse.booking_id == booking_id)
        )
        is not None
    )


def _invited(booking: Booking) -> bool:
    return (
        booking.attended_at is not None
        and booking.status == BookingStatus.confirmed
        and booking.purged_at is None
    )


def _state(booking: Booking, event: Event, closes_at: datetime, now: datetime) -> InvitationState:
    if not _invited(booking):
        return InvitationState.not_invited
    if has_answered(booking.id):
        return InvitationState.answered
    if now < event.ends_at:
        return InvitationState.not_open
    if now >= closes_at:
        return InvitationState.closed
    return InvitationState.open


def invitation(booking: Booking, now: datetime | None = None) -> Invitation:
    """What the booking's manage page offers: nothing, "not yet", the questions, thanks, or
    "closed"."""
    now = now or utcnow()
    event = booking.event
    evaluation = _evaluation(event.id)
    closes_at = closing_time(event, evaluation)
    return Invitation(
        _state(booking, event, closes_at, now), event.ends_at, closes_at, _questions(evaluation)
    )


def submit(
    booking_id: int, answers: list[Answer], now: datetime | None = None, demo: bool = False
) -> EvaluationResponse:
    """Store the booking's one response: ``answers`` in the order of the questions shown."""
    now = now or utcnow()
    try:
        with unit_of_work():
            booking = db.session.get(Booking, booking_id)
            if booking is None:
                raise EvaluationRefused("There is no such booking.")
            event = booking_service.lock_event(booking.event_id)
            db.session.refresh(booking)
            evaluation = _materialised(event.id)
            state = _state(booking, event, closing_time(event, evaluation), now)
            if state == InvitationState.answered:
                raise AlreadyAnswered()
            if state == InvitationState.closed:
                raise EvaluationRefused(
                    "The evaluation of this event closed on "
                    f"{format_date(closing_time(event, evaluation))}."
                )
            if state != InvitationState.open:
                raise EvaluationRefused("This booking is not invited to give feedback now.")
            questions = evaluation.questions
            if len(answers) != len(questions):
                raise EvaluationRefused("The questions have changed: open the page again.")
            response = EvaluationResponse(
                event_id=event.id, booking_id=booking.id, submitted_at=now, demo=demo
            )
            response.answers = [
                EvaluationAnswer(
                    question_id=q.id,
                    rating=a.rating if q.kind == QuestionKind.rating else None,
                    text=a.text.strip() if q.kind == QuestionKind.text else "",
                    may_quote=a.may_quote and q.kind == QuestionKind.text and bool(a.text.strip()),
                )
                for q, a in zip(questions, answers, strict=True)
            ]
            db.session.add(response)
            db.session.flush()
            return response
    except IntegrityError:
        # The unique booking: a second submission that slipped past the check.
        raise AlreadyAnswered() from None


# ----------------------------------------------------------------------------- results


@dataclass
class Distribution:
    question: Question
    counts: dict[int, int]
    answered: int
    mean: float | None


@dataclass
class SectorRow:
    name: str
    responses: int
    means: list[float | None]


@dataclass
class Results:
    event: Event
    questions: list[Question]
    responses: int
    attended: int
    distributions: list[Distribution]
    quotes: list[tuple[Question, list[str]]]
    not_answered: list[Booking]
    sectors: list[SectorRow]
    other: SectorRow | None
    # Sectors left out because no breakdown could be shown without revealing a small group.
    withheld: int = 0
    rating_questions: list[Question] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        return self.responses * 100 / self.attended if self.attended else None


def _mean(total: float, n: int) -> float | None:
    return round(total / n, 1) if n else None


def _sector_counts(event_id: int) -> list[tuple[int, str, int]]:
    """(sector id, name, responses) for each sector with responses."""
    return list(
        db.session.execute(
            select(Sector.id, Sector.name, func.count(EvaluationResponse.id))
            .join(Booking, Booking.id == EvaluationResponse.booking_id)
            .join(Sector, Sector.id == Booking.sector_id)
            .where(EvaluationResponse.event_id == event_id)
            .group_by(Sector.id, Sector.name, Sector.position)
            .order_by(Sector.position, Sector.name)
        ).all()
    )


def _grouped_sectors(event_id: int) -> tuple[dict[int, str], int, int]:
    """Each sector's label in the breakdown: its own name, or the shared "Other sectors" group
    that takes every sector under the threshold and, while that group is itself under it, the
    smallest named sectors too. So the total minus the rows shown never leaves fewer than
    ``SECTOR_THRESHOLD`` responses to be worked out. Returns the labels (empty when no
    breakdown can be shown), how many sectors are in the group, and how many sectors are
    withheld because no breakdown can be shown."""
    counts = _sector_counts(event_id)
    named = [(sid, name, n) for sid, name, n in counts if n >= SECTOR_THRESHOLD]
    grouped = [(sid, n) for sid, _name, n in counts if n < SECTOR_THRESHOLD]
    while grouped and sum(n for _sid, n in grouped) < SECTOR_THRESHOLD and named:
        smallest = min(range(len(named)), key=lambda i: (named[i][2], -i))
        sid, _name, n = named.pop(smallest)
        grouped.append((sid, n))
    if not named or 0 < sum(n for _sid, n in grouped) < SECTOR_THRESHOLD:
        return {}, 0, len(counts)
    labels = {sid: name for sid, name, _n in named}
    labels.update({sid: OTHER_SECTORS for sid, _n in grouped})
    return labels, len(grouped), 0


def results(event: Event) -> Results:
    """Everything the stats page shows of the evaluation, in a fixed number of queries."""
    evaluation = _evaluation(event.id)
    questions = _questions(evaluation)
    rating_questions = [q for q in questions if q.kind == QuestionKind.rating]
    responses = _responses(event.id)
    attended = db.session.scalar(
        select(func.count(Booking.id)).where(
            Booking.event_id == event.id,
            Booking.attended_at.is_not(None),
            Booking.status == BookingStatus.confirmed,
        )
    )
    counts: dict[int, dict[int, int]] = defaultdict(dict)
    for qid, rating, n in db.session.execute(
        select(EvaluationAnswer.question_id, EvaluationAnswer.rating, func.count())
        .join(EvaluationResponse, EvaluationResponse.id == EvaluationAnswer.response_id)
        .where(EvaluationResponse.event_id == event.id, EvaluationAnswer.rating.is_not(None))
        .group_by(EvaluationAnswer.question_id, EvaluationAnswer.rating)
    ):
        counts[qid][rating] = n
    distributions = []
    for q in rating_questions:
        per = {r: counts[q.id].get(r, 0) for r in RATINGS}
        answered = sum(per.values())
        distributions.append(
            Distribution(q, per, answered, _mean(sum(r * n for r, n in per.items()), answered))
        )
    quoted: dict[int, list[str]] = defaultdict(list)
    for qid, text in db.session.execute(
        select(EvaluationAnswer.question_id, EvaluationAnswer.text)
        .join(EvaluationResponse, EvaluationResponse.id == EvaluationAnswer.response_id)
        .where(EvaluationResponse.event_id == event.id, EvaluationAnswer.may_quote)
        .order_by(EvaluationResponse.submitted_at, EvaluationResponse.id)
    ):
        quoted[qid].append(text)
    quotes = [(q, quoted[q.id]) for q in questions if q.kind == QuestionKind.text]
    answered_ids = select(EvaluationResponse.booking_id).where(
        EvaluationResponse.event_id == event.id
    )
    not_answered = list(
        db.session.scalars(
            select(Booking)
            .where(
                Booking.event_id == event.id,
                Booking.attended_at.is_not(None),
                Booking.status == BookingStatus.confirmed,
                Booking.id.not_in(answered_ids),
            )
            .order_by(Booking.name, Booking.id)
        )
    )
    sectors, other, withheld = _sector_breakdown(event.id, rating_questions)
    return Results(
        event=event,
        questions=questions,
        responses=responses,
        attended=attended,
        distributions=distributions,
        quotes=quotes,
        not_answered=not_answered,
        sectors=sectors,
        other=other,
        withheld=withheld,
        rating_questions=rating_questions,
    )


def _sector_breakdown(
    event_id: int, rating_questions: list[Question]
) -> tuple[list[SectorRow], SectorRow | None, int]:
    labels, _folded, withheld = _grouped_sectors(event_id)
    sums: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    responses: dict[str, set[int]] = defaultdict(set)
    for sector_id, response_id, qid, rating in db.session.execute(
        select(
            Booking.sector_id,
            EvaluationResponse.id,
            EvaluationAnswer.question_id,
            EvaluationAnswer.rating,
        )
        .join(EvaluationResponse, EvaluationResponse.id == EvaluationAnswer.response_id)
        .join(Booking, Booking.id == EvaluationResponse.booking_id)
        .where(EvaluationResponse.event_id == event_id)
    ):
        label = labels.get(sector_id)
        if label is None:
            continue
        responses[label].add(response_id)
        if rating is not None:
            sums[(label, qid)][0] += rating
            sums[(label, qid)][1] += 1

    def row(label: str) -> SectorRow:
        return SectorRow(
            label,
            len(responses[label]),
            [_mean(*sums[(label, q.id)]) for q in rating_questions],
        )

    named = []
    for label in dict.fromkeys(labels.values()):
        if label != OTHER_SECTORS:
            named.append(row(label))
    other = row(OTHER_SECTORS) if OTHER_SECTORS in labels.values() else None
    return named, other, withheld


def results_csv(event: Event) -> str:
    """One row per response, without names; the sector column gives the group as the page
    shows it ("Other sectors", or nothing when the page shows no breakdown), so the download
    is as safe to pass on as the page."""
    questions = _questions(_evaluation(event.id))
    labels, _folded, _withheld = _grouped_sectors(event.id)
    header = ["Response", "Submitted", "Sector"]
    for q in questions:
        header.append(q.text)
        if q.kind == QuestionKind.text:
            header.append(f"May quote: {q.text}")
    rows: list[list] = [header]
    found = db.session.scalars(
        select(EvaluationResponse)
        .options(selectinload(EvaluationResponse.answers), selectinload(EvaluationResponse.booking))
        .where(EvaluationResponse.event_id == event.id)
        .order_by(EvaluationResponse.submitted_at, EvaluationResponse.id)
    )
    for n, response in enumerate(found, start=1):
        by_question = {a.question_id: a for a in response.answers}
        line: list = [n, format_date(response.submitted_at)]
        line.append(labels.get(response.booking.sector_id, "Not shown (too few responses)"))
        for q in questions:
            answer = by_question.get(q.id)
            if q.kind == QuestionKind.rating:
                line.append(answer.rating if answer else None)
            else:
                line.append(answer.text if answer else "")
                line.append("yes" if answer and answer.may_quote else "no")
        rows.append(line)
    return spreadsheet_csv(rows)
