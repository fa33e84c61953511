"""Imports every model so that the metadata, Alembic and the shell see all tables."""

from bookings.accounts.models import AuditEntry, OrganiserUser, Role
from bookings.booking.models import Booking, BookingStatus, Sector
from bookings.certificates.models import Certificate, CertificateSettings
from bookings.evaluation.models import (
    Evaluation,
    EvaluationAnswer,
    EvaluationQuestion,
    EvaluationResponse,
)
from bookings.events.models import (
    Event,
    EventKind,
    EventMessage,
    EventStatus,
    ProgrammeSlot,
    SlotKind,
    Speaker,
    Venue,
)
from bookings.mail.models import OutboxMessage
from bookings.mine.models import AddressLink
from bookings.networks.models import Meeting, MeetingStatus, Network
from bookings.openings.models import OpeningAlert
from bookings.papers.models import Paper, PapersNotice
from bookings.scheduled.models import ScheduledSetting
from bookings.stats.models import FigureBasis, RecordedFigures, RecordedSectorFigure

__all__ = [
    "AddressLink",
    "AuditEntry",
    "Booking",
    "BookingStatus",
    "Certificate",
    "CertificateSettings",
    "Evaluation",
    "EvaluationAnswer",
    "EvaluationQuestion",
    "EvaluationResponse",
    "Event",
    "EventKind",
    "EventMessage",
    "EventStatus",
    "FigureBasis",
    "Meeting",
    "MeetingStatus",
    "Network",
    "OpeningAlert",
    "OrganiserUser",
    "OutboxMessage",
    "Paper",
    "PapersNotice",
    "ProgrammeSlot",
    "RecordedFigures",
    "RecordedSectorFigure",
    "Role",
    "ScheduledSetting",
    "Sector",
    "SlotKind",
    "Speaker",
    "Venue",
]
