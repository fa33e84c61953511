"""The event's "Scheduled messages" console pages: the four messages, when each goes and how
many went; each one's page to change, preview or turn it off."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for

from bookings.db import db
from bookings.events import service as events
from bookings.events.models import Event
from bookings.scheduled import service
from bookings.scheduled.forms import ScheduledForm
from bookings.scheduled.models import ScheduledKind
from bookings.web.console import guard
from bookings.web.forms import form_status

bp = Blueprint("scheduled_manage", __name__, url_prefix="/manage/events/<int:event_id>/scheduled")
guard(bp)


def _event(event_id: int) -> Event:
    return db.get_or_404(Event, event_id, options=events.WITH_PROGRAMME)


KINDS = f"<any({', '.join(kind.value for kind in ScheduledKind)}):kind>"


@bp.get("/")
def index(event_id: int):
    event = _event(event_id)
    return render_template("scheduled/manage/index.html", event=event, rows=service.overview(event))


def _changes(form: ScheduledForm) -> service.Changes:
    return service.Changes(
        enabled=form.enabled.data,
        days=form.days.data,
        at=form.at.data,
        subject=form.subject.data,
        intro=form.intro.data or "",
        briefing=(form.briefing.data or "") if "briefing" in form else "",
    )


@bp.route(f"/{KINDS}", methods=["GET", "POST"])
def edit(event_id: int, kind: str):
    """One form: "Preview" shows the message as changed, "Save" keeps it."""
    event = _event(event_id)
    chosen = ScheduledKind(kind)
    form = ScheduledForm()
    form.shape(chosen)
    changes = None
    if not form.is_submitted():
        form.fill_from(service.setting(event.id, chosen))
    elif form.validate():
        changes = _changes(form)
        if form.save.data:
            saved = service.save(event.id, chosen, changes)
            flash(f"{chosen.label}: saved" + ("." if saved.enabled else ", and turned off."))
            return redirect(url_for("scheduled_manage.index", event_id=event.id))
    preview = None if form.errors else service.preview(event.id, chosen, changes)
    return render_template(
        "scheduled/manage/edit.html", event=event, kind=chosen, form=form, preview=preview
    ), form_status(form)
