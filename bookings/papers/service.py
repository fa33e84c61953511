"""The rules of papers: what a file may be, where it is kept, who sees which item when, and
the once-per-booking "papers are posted" e-mail.

Visibility is decided here once (``_visible``) and used by the public pages, the delegates'
manage page and the downloads; feeds and the API never read papers at all.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
import zipfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO
from urllib.parse import quote, urlsplit

from flask import current_app
from sqlalchemy import ColumnElement, and_, or_, select

from bookings.accounts import service as accounts
from bookings.booking.models import Booking, BookingStatus
from bookings.db import db, insert_ignoring_duplicates, unit_of_work, utcnow
from bookings.events.models import Event
from bookings.mail import service as mail
from bookings.networks.models import Meeting
from bookings.papers.models import Audience, Paper, PapersNotice

# The largest file an organiser may upload; MAX_CONTENT_LENGTH (config) bounds the request.
MAX_BYTES = 20 * 1024 * 1024
SNIFF_BYTES = 8192
FILE_DIRECTORY = "papers"

_OOXML = "application/vnd.openxmlformats-officedocument"
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "pptx": f"{_OOXML}.presentationml.presentation",
    "docx": f"{_OOXML}.wordprocessingml.document",
    "xlsx": f"{_OOXML}.spreadsheetml.sheet",
    "odt": "application/vnd.oasis.opendocument.text",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "txt": "text/plain; charset=utf-8",
}
# The folder every Office Open XML file of the kind holds.
_OOXML_PART = {"docx": "word/", "xlsx": "xl/", "pptx": "ppt/"}
KINDS_TEXT = (
    "PDF, PowerPoint (.pptx), Word (.docx), Excel (.xlsx), OpenDocument (.odt, .odp), "
    "PNG, JPEG or plain text"
)


class PaperRefused(ValueError):
    """Why an item cannot be saved, in words for the organiser."""


class NothingToTell(ValueError):
    """No paper is yet visible to the event's delegates."""


# ----------------------------------------------------------------------------- files


def _extension(filename: str) -> str:
    return filename.rpartition(".")[2].casefold() if "." in filename else ""


def clean_filename(filename: str) -> str:
    """The uploaded name as a download name only: no folders, no control characters."""
    name = unicodedata.normalize("NFC", filename or "").replace("\\", "/").rpartition("/")[2]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip(" .")
    return name[-200:] or "paper"


def _zip_names(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return []


def _odf_mimetype(path: Path) -> bytes:
    try:
        with zipfile.ZipFile(path) as archive, archive.open("mimetype") as entry:
            return entry.read(100)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        return b""


def _content_matches(extension: str, path: Path) -> bool:
    """The file's bytes are what its extension says (a renamed program is not a PDF)."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if extension == "pdf":
        return head.startswith(b"%PDF-")
    if extension == "png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if extension in ("jpg", "jpeg"):
        return head.startswith(b"\xff\xd8\xff")
    if extension == "txt":
        if b"\x00" in head:
            return False
        try:
            path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True
    if not head.startswith(b"PK\x03\x04"):
        return False
    if extension in _OOXML_PART:
        names = _zip_names(path)
        return "[Content_Types].xml" in names and any(
            n.startswith(_OOXML_PART[extension]) for n in names
        )
    return _odf_mimetype(path) == CONTENT_TYPES[extension].encode()


def papers_directory() -> Path:
    return Path(current_app.instance_path) / FILE_DIRECTORY


def stored_path(paper: Paper) -> Path:
    """Where the file is: its random name, checked to be one (never the uploaded name)."""
    if not re.fullmatch(r"[0-9a-f]{32}", paper.stored_name):
        raise FileNotFoundError(paper.stored_name)
    return papers_directory() / paper.stored_name


@dataclass(frozen=True)
class Upload:
    stored_name: str
    filename: str
    content_type: str
    size: int


def _store(stream: IO[bytes], filename: str) -> Upload:
    """Copy the upload under a random name and check its size and content; a refused file
    leaves nothing behind."""
    name = clean_filename(filename)
    extension = _extension(name)
    if extension not in CONTENT_TYPES:
        raise PaperRefused(f"Upload a {KINDS_TEXT} file.")
    directory = papers_directory()
    directory.mkdir(parents=True, exist_ok=True)
    stored_name = secrets.token_hex(16)
    path = directory / stored_name
    size = 0
    try:
        with path.open("xb") as out:
            while chunk := stream.read(64 * 1024):
                size += len(chunk)
                if size > MAX_BYTES:
                    raise PaperRefused(
                        "The file is larger than 20 MB: make it smaller or link to it."
                    )
                out.write(chunk)
        if size == 0:
            raise PaperRefused("The file is empty.")
        if not _content_matches(extension, path):
            raise PaperRefused(f"This file is not the {extension.upper()} file its name says.")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Upload(stored_name, name, CONTENT_TYPES[extension], size)


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback and the UTF-8 name (RFC 6266)."""
    fallback = (
        "".join(
            c if c.isascii() and (c.isalnum() or c in "._- ") else "_" for c in filename
        ).strip()
        or "paper"
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


# ----------------------------------------------------------------------------- reading


def _released(now: datetime) -> ColumnElement[bool]:
    return or_(Paper.embargo_until.is_(None), Paper.embargo_until <= now)


def _visible(audiences: Sequence[Audience], now: datetime) -> ColumnElement[bool]:
    return and_(Paper.audience.in_(audiences), _released(now))


def _ordered(query):
    return query.order_by(Paper.created_at, Paper.id)


def public_papers(event_id: int, now: datetime | None = None) -> list[Paper]:
    """An event's papers for everyone, once their embargo is over."""
    return list(
        db.session.scalars(
            _ordered(
                select(Paper).where(
                    Paper.event_id == event_id, _visible([Audience.everyone], now or utcnow())
                )
            )
        )
    )


def may_see_delegates_papers(booking: Booking) -> bool:
    """A delegate with a place (attended or not) sees what is for the event's delegates."""
    return booking.status == BookingStatus.confirmed and booking.purged_at is None


def papers_for_booking(booking: Booking, now: datetime | None = None) -> list[Paper]:
    audiences = [Audience.everyone]
    if may_see_delegates_papers(booking):
        audiences.append(Audience.delegates)
    return list(
        db.session.scalars(
            _ordered(
                select(Paper).where(
                    Paper.event_id == booking.event_id, _visible(audiences, now or utcnow())
                )
            )
        )
    )


def meeting_papers(meeting_ids: Sequence[int], now: datetime | None = None) -> dict[int, list]:
    """Each meeting's public papers, in one query."""
    found: dict[int, list[Paper]] = defaultdict(list)
    if meeting_ids:
        for paper in db.session.scalars(
            _ordered(
                select(Paper).where(
                    Paper.meeting_id.in_(list(meeting_ids)),
                    _visible([Audience.everyone], now or utcnow()),
                )
            )
        ):
            found[paper.meeting_id].append(paper)
    return dict(found)


def public_paper(paper_id: int, now: datetime | None = None) -> Paper | None:
    """A file anyone may download: for everyone, released, of a public event or a meeting."""
    paper = db.session.scalar(
        select(Paper)
        .outerjoin(Event, Paper.event_id == Event.id)
        .where(
            Paper.id == paper_id,
            Paper.stored_name != "",
            _visible([Audience.everyone], now or utcnow()),
            or_(Paper.meeting_id.is_not(None), Event.is_public),
        )
    )
    return paper


def booking_paper(booking: Booking, paper_id: int, now: datetime | None = None) -> Paper | None:
    """A file the booking's delegate may download through their manage link."""
    for paper in papers_for_booking(booking, now):
        if paper.id == paper_id and paper.is_file:
            return paper
    return None


def paper(paper_id: int) -> Paper | None:
    return db.session.get(Paper, paper_id)


@dataclass(frozen=True)
class OwnerPapers:
    papers: list[Paper]
    told: int  # bookings already told the papers are posted
    to_tell: int  # confirmed bookings not yet told


def event_papers(event_id: int) -> OwnerPapers:
    """Every item of an event for the console, and how many delegates were told."""
    papers = list(db.session.scalars(_ordered(select(Paper).where(Paper.event_id == event_id))))
    told = db.session.scalar(
        select(db.func.count())
        .select_from(PapersNotice)
        .join(Booking, PapersNotice.booking_id == Booking.id)
        .where(Booking.event_id == event_id)
    )
    to_tell = db.session.scalar(
        select(db.func.count()).select_from(Booking).where(*_to_tell(event_id))
    )
    return OwnerPapers(papers, told or 0, to_tell or 0)


def meeting_papers_all(meeting_id: int) -> list[Paper]:
    return list(db.session.scalars(_ordered(select(Paper).where(Paper.meeting_id == meeting_id))))


def meeting(meeting_id: int) -> Meeting | None:
    return db.session.get(Meeting, meeting_id)


# ----------------------------------------------------------------------------- changes


@dataclass(frozen=True)
class PaperData:
    title: str
    audience: Audience
    embargo_until: datetime | None
    url: str = ""


def checked_url(url: str) -> str:
    """A web link only: http or https with a host, nothing a browser would run."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.casefold() not in ("http", "https") or not parts.hostname:
        raise PaperRefused("Give a web address starting with https:// or http://.")
    return url


def _owner(event_id: int | None, meeting_id: int | None) -> tuple[str, int]:
    if event_id is not None:
        return "event", event_id
    return "meeting", meeting_id or 0


def _check_audience(paper: Paper, audience: Audience) -> None:
    if paper.meeting_id is not None and audience == Audience.delegates:
        raise PaperRefused("A meeting has no delegates: choose everyone or organisers only.")


def add_paper(
    data: PaperData,
    *,
    event_id: int | None = None,
    meeting_id: int | None = None,
    upload: IO[bytes] | None = None,
    upload_name: str = "",
) -> Paper:
    """Add a link (``data.url``) or an uploaded file to an event or a meeting."""
    stored = None
    if upload is not None:
        stored = _store(upload, upload_name)
    elif not data.url:
        raise PaperRefused("Give a web address or choose a file.")
    try:
        with unit_of_work():
            paper = Paper(
                event_id=event_id,
                meeting_id=meeting_id,
                title=data.title.strip(),
                audience=data.audience,
                embargo_until=data.embargo_until,
                url="" if stored else checked_url(data.url),
                stored_name=stored.stored_name if stored else "",
                filename=stored.filename if stored else "",
                content_type=stored.content_type if stored else "",
                size=stored.size if stored else 0,
            )
            _check_audience(paper, data.audience)
            db.session.add(paper)
            db.session.flush()
            kind, owner_id = _owner(event_id, meeting_id)
            accounts.audit(
                "papers.add",
                kind,
                owner_id,
                f"Added {'file' if stored else 'link'} \u201c{paper.title}\u201d "
                f"for {paper.audience.value}",
            )
    except BaseException:
        if stored:
            (papers_directory() / stored.stored_name).unlink(missing_ok=True)
        raise
    return paper


def update_paper(paper_id: int, data: PaperData) -> Paper:
    """Change the title, audience, embargo (and a link's address); a file stays as it is."""
    with unit_of_work():
        paper = db.session.get(Paper, paper_id)
        if paper is None:
            raise PaperRefused("This item no longer exists.")
        _check_audience(paper, data.audience)
        before = (paper.title, paper.audience.value, str(paper.embargo_until or ""), paper.url)
        paper.title = data.title.strip()
        paper.audience = data.audience
        paper.embargo_until = data.embargo_until
        if not paper.is_file:
            paper.url = checked_url(data.url)
        after = (paper.title, paper.audience.value, str(paper.embargo_until or ""), paper.url)
        kind, owner_id = _owner(paper.event_id, paper.meeting_id)
        names = ("title", "audience", "embargo", "url")
        changes = {
            name: [old, new]
            for name, old, new in zip(names, before, after, strict=True)
            if old != new
        }
        accounts.audit("papers.edit", kind, owner_id, f"Changed \u201c{paper.title}\u201d", changes)
    return paper


def remove_paper(paper_id: int) -> None:
    """Delete the item; its file goes once the deletion is committed."""
    path = None
    with unit_of_work():
        paper = db.session.get(Paper, paper_id)
        if paper is None:
            return
        if paper.is_file:
            path = stored_path(paper)
        kind, owner_id = _owner(paper.event_id, paper.meeting_id)
        accounts.audit("papers.remove", kind, owner_id, f"Removed \u201c{paper.title}\u201d")
        db.session.delete(paper)
    if path is not None:
        path.unlink(missing_ok=True)


def _to_tell(event_id: int) -> tuple[ColumnElement[bool], ...]:
    return (
        Booking.event_id == event_id,
        Booking.status == BookingStatus.confirmed,
        Booking.purged_at.is_(None),
        Booking.id.not_in(select(PapersNotice.booking_id)),
    )


def tell_delegates(event_id: int, now: datetime | None = None) -> int:
    """Queue "the papers are posted" for each confirmed booking not told before; returns how
    many. The notice's primary key makes it once per booking, however many organisers press
    the button at once: an insert that finds the key taken writes nothing and sends nothing."""
    now = now or utcnow()
    with unit_of_work():
        visible = db.session.scalar(
            select(db.func.count())
            .select_from(Paper)
            .where(
                Paper.event_id == event_id,
                _visible([Audience.everyone, Audience.delegates], now),
            )
        )
        if not visible:
            raise NothingToTell(
                "No paper is visible to delegates yet: add one for everyone or for the "
                "event's delegates, with no embargo or one that is over."
            )
        statement = (
            insert_ignoring_duplicates(PapersNotice)
            .from_select(
                ["booking_id", "created_at"],
                select(Booking.id, db.literal(now, type_=PapersNotice.created_at.type)).where(
                    *_to_tell(event_id)
                ),
            )
            .on_conflict_do_nothing(index_elements=["booking_id"])
            .returning(PapersNotice.booking_id)
        )
        told = list(db.session.scalars(statement))
        for booking in db.session.scalars(
            select(Booking).where(Booking.id.in_(told)).order_by(Booking.id)
        ):
            mail.queue("papers_posted", booking.email, booking_id=booking.id)
        accounts.audit(
            "papers.tell", "event", event_id, f"Told {len(told)} delegates the papers are posted"
        )
    return len(told)
