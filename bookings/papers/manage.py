"""The console's papers pages: an event's or a meeting's items, add, edit, remove, download,
and "tell delegates the papers are posted"."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from bookings.db import db
from bookings.events.models import Event
from bookings.papers import service
from bookings.papers.downloads import send_paper
from bookings.papers.forms import NewPaperForm, PaperForm
from bookings.papers.models import Paper
from bookings.web.console import Confirmation, confirmation_page, guard
from bookings.web.forms import ButtonForm, form_status

bp = Blueprint("papers_manage", __name__, url_prefix="/manage")
guard(bp)


def _paper(paper_id: int) -> Paper:
    paper = service.paper(paper_id)
    if paper is None:
        abort(404)
    return paper


def _owner_url(paper: Paper) -> str:
    if paper.event_id is not None:
        return url_for("papers_manage.event_papers", event_id=paper.event_id)
    return url_for("papers_manage.meeting_papers", meeting_id=paper.meeting_id)


def _add(form: NewPaperForm, **owner: int) -> str | None:
    """Save the posted item; the refusal's words when the service refuses it."""
    upload = form.upload.data if form.upload.data and form.upload.data.filename else None
    try:
        service.add_paper(
            form.data_for_service(),
            upload=upload.stream if upload else None,
            upload_name=upload.filename if upload else "",
            **owner,
        )
    except service.PaperRefused as refusal:
        return str(refusal)
    finally:
        if upload:
            upload.close()
    return None


@bp.route("/events/<int:event_id>/papers", methods=["GET", "POST"])
def event_papers(event_id: int):
    event = db.get_or_404(Event, event_id)
    form = NewPaperForm()
    if form.validate_on_submit():
        refusal = _add(form, event_id=event.id)
        if refusal is None:
            flash(f"Added \u201c{form.title.data}\u201d.")
            return redirect(url_for("papers_manage.event_papers", event_id=event.id), code=303)
        form.upload.errors.append(refusal)
    return render_template(
        "papers/manage/event.html",
        event=event,
        owner=service.event_papers(event.id),
        form=form,
        tell_form=ButtonForm(),
    ), form_status(form)


@bp.route("/meetings/<int:meeting_id>/papers", methods=["GET", "POST"])
def meeting_papers(meeting_id: int):
    meeting = service.meeting(meeting_id)
    if meeting is None:
        abort(404)
    form = NewPaperForm()
    form.for_meeting()
    if form.validate_on_submit():
        refusal = _add(form, meeting_id=meeting.id)
        if refusal is None:
            flash(f"Added \u201c{form.title.data}\u201d.")
            return redirect(
                url_for("papers_manage.meeting_papers", meeting_id=meeting.id), code=303
            )
        form.upload.errors.append(refusal)
    return render_template(
        "papers/manage/meeting.html",
        meeting=meeting,
        papers=service.meeting_papers_all(meeting.id),
        form=form,
    ), form_status(form)


@bp.route("/papers/<int:paper_id>", methods=["GET", "POST"])
def edit(paper_id: int):
    paper = _paper(paper_id)
    form = PaperForm()
    if paper.meeting_id is not None:
        form.for_meeting()
    if request.method == "GET":
        form.fill_from(paper)
    if paper.is_file:
        form.url.data = ""
    if form.validate_on_submit():
        if not paper.is_file and not form.url.data:
            form.url.errors.append("Give the web address.")
        else:
            try:
                service.update_paper(paper.id, form.data_for_service())
            except service.PaperRefused as refusal:
                form.audience.errors.append(str(refusal))
            else:
                flash(f"Saved \u201c{form.title.data}\u201d.")
                return redirect(_owner_url(paper), code=303)
    return render_template(
        "papers/manage/edit.html", paper=paper, form=form, back=_owner_url(paper)
    ), form_status(form)


@bp.route("/papers/<int:paper_id>/remove", methods=["GET", "POST"])
def remove(paper_id: int):
    paper = _paper(paper_id)
    back = _owner_url(paper)
    form = ButtonForm()
    if form.validate_on_submit():
        service.remove_paper(paper.id)
        flash(f"Removed \u201c{paper.title}\u201d.")
        return redirect(back, code=303)
    return confirmation_page(
        Confirmation(
            title=f"Remove \u201c{paper.title}\u201d?",
            button="Remove it",
            back=back,
            facts=[("Title", paper.title), ("Who may see it", paper.audience.label)],
            consequences=["Nobody can see or download it any more. This cannot be undone."],
        )
    )


@bp.get("/papers/<int:paper_id>/file")
def download(paper_id: int):
    paper = _paper(paper_id)
    if not paper.is_file:
        abort(404)
    return send_paper(paper, private=True)


@bp.post("/events/<int:event_id>/papers/tell")
def tell(event_id: int):
    event = db.get_or_404(Event, event_id)
    if ButtonForm().validate_on_submit():
        try:
            told = service.tell_delegates(event.id)
        except service.NothingToTell as refusal:
            flash(str(refusal))
        else:
            flash(
                f"Told {told} delegate{'' if told == 1 else 's'} the papers are posted."
                if told
                else "Every delegate with a place has already been told."
            )
    return redirect(url_for("papers_manage.event_papers", event_id=event.id), code=303)
