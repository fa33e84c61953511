"""The organiser console's network pages (/manage/networks): networks and their meetings.

Each view reads the request, calls one function of ``bookings.networks.service`` and renders.
Every route needs a signed-in organiser (``bookings.web.console.guard``).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from bookings.db import StaleEdit, db
from bookings.networks import service
from bookings.networks.forms import MeetingForm, NetworkForm, PasteMeetingsForm
from bookings.networks.models import Network
from bookings.web.console import guard
from bookings.web.forms import form_status

bp = Blueprint("networks_manage", __name__, url_prefix="/manage/networks")
guard(bp)


def _network(network_id: int) -> Network:
    return db.get_or_404(Network, network_id, options=service.WITH_MEETINGS)


def _page(network: Network, **forms):
    forms.setdefault("form", NetworkForm(obj=network))
    forms.setdefault("meeting_form", MeetingForm())
    forms.setdefault("paste_form", PasteMeetingsForm(location=network.default_location))
    return render_template("networks/manage/network.html", network=network, **forms), form_status(
        *forms.values()
    )


def _meetings_url(network_id: int) -> str:
    return url_for("networks_manage.edit", network_id=network_id) + "#meetings"


@bp.get("/")
def index():
    return render_template("networks/manage/networks.html", networks=service.networks())


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = NetworkForm()
    if form.validate_on_submit():
        try:
            network = service.create_network(form.values())
        except service.SlugTaken as taken:
            form.slug.errors.append(str(taken))
        else:
            flash(f"Network added: {network.name}. Now add its meetings.")
            return redirect(url_for("networks_manage.edit", network_id=network.id))
    return render_template("networks/manage/network_new.html", form=form), form_status(form)


@bp.route("/<int:network_id>", methods=["GET", "POST"])
def edit(network_id: int):
    network = _network(network_id)
    if request.method == "GET":
        return _page(network)
    form = NetworkForm()
    if form.validate_on_submit():
        try:
            service.update_network(network, form.values(), form.opened_version())
        except service.SlugTaken as taken:
            form.slug.errors.append(str(taken))
        except StaleEdit as stale:
            form.form_errors.append(str(stale))
        else:
            flash("Network saved.")
            return redirect(url_for("networks_manage.edit", network_id=network_id))
    return _page(network, form=form)


@bp.post("/<int:network_id>/meetings")
def add_meeting(network_id: int):
    network = _network(network_id)
    form = MeetingForm()
    if form.validate_on_submit():
        try:
            service.add_meetings(network, [form.meeting_data()])
        except service.MeetingError as problem:
            form.form_errors.extend(problem.problems)
        else:
            flash("Meeting added.")
            return redirect(_meetings_url(network_id))
    return _page(network, meeting_form=form)


@bp.post("/<int:network_id>/meetings/paste")
def paste_meetings(network_id: int):
    network = _network(network_id)
    form = PasteMeetingsForm()
    if form.validate_on_submit():
        try:
            added = service.add_pasted_meetings(
                network,
                form.lines.data,
                form.start_time.data,
                form.end_time.data,
                form.location.data,
            )
        except service.MeetingError as problem:
            form.form_errors.extend(problem.problems)
        else:
            flash(f"{len(added)} meetings added.")
            return redirect(_meetings_url(network_id))
    return _page(network, paste_form=form)


@bp.route("/<int:network_id>/meetings/<int:meeting_id>", methods=["GET", "POST"])
def edit_meeting(network_id: int, meeting_id: int):
    network = _network(network_id)
    meeting = service.meeting_of(network_id, meeting_id)
    if meeting is None:
        abort(404)
    form = MeetingForm()
    # Filled from the meeting only on a GET: a post without the version must not take its one.
    if request.method == "GET":
        form.fill_from(meeting)
    elif form.validate_on_submit():
        try:
            service.update_meeting(meeting, form.meeting_data(), form.opened_version())
        except (StaleEdit, service.MeetingError) as problem:
            form.form_errors.append(str(problem))
        else:
            flash("Meeting saved.")
            return redirect(_meetings_url(network_id))
    return render_template(
        "networks/manage/meeting_form.html", network=network, meeting=meeting, form=form
    ), form_status(form)
