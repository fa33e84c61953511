"""Organisers' pages for networks and their meetings (/manage/networks)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from bookings.db import StaleEdit
from bookings.networks import manage_service as service
from bookings.networks.forms import MeetingForm, NetworkForm, PasteMeetingsForm
from bookings.networks.models import MeetingStatus, Network
from bookings.networks.service import networks as all_networks
from bookings.web.console import guard

bp = Blueprint("networks_manage", __name__, url_prefix="/manage/networks")
guard(bp)


def _network(network_id: int) -> Network:
    network = service.network_by_id(network_id)
    if network is None:
        abort(404)
    return network


def _page(network: Network, **forms):
    forms.setdefault("form", NetworkForm(obj=network))
    forms.setdefault("meeting_form", MeetingForm())
    forms.setdefault("paste_form", PasteMeetingsForm(location=network.default_location))
    failed = request.method == "POST"
    return render_template(
        "networks/manage/network.html", network=network, **forms
    ), 400 if failed else 200


@bp.get("/")
def index():
    return render_template("networks/manage/networks.html", networks=all_networks())


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = NetworkForm()
    if form.validate_on_submit():
        if service.slug_taken(form.slug.data):
            form.slug.errors.append("Another network already uses this web address name.")
        else:
            network = service.create_network(form.values())
            flash(f"Network added: {network.name}. Now add its meetings.")
            return redirect(url_for("networks_manage.edit", network_id=network.id))
    status = 400 if request.method == "POST" else 200
    return render_template("networks/manage/network_new.html", form=form), status


@bp.route("/<int:network_id>", methods=["GET", "POST"])
def edit(network_id: int):
    network = _network(network_id)
    if request.method == "GET":
        return _page(network)
    form = NetworkForm()
    if form.validate_on_submit():
        if service.slug_taken(form.slug.data, exclude_id=network.id):
            form.slug.errors.append("Another network already uses this web address name.")
        else:
            try:
                service.update_network(network, form.values(), form.opened_version())
            except StaleEdit as stale:
                form.form_errors.append(str(stale))
            else:
                flash("Network saved.")
                return redirect(url_for("networks_manage.edit", network_id=network_id))
    return _page(network, form=form)


def _meeting_data(form: MeetingForm) -> service.MeetingData:
    return service.MeetingData(
        day=form.day.data,
        start=form.start_time.data,
        end=form.end_time.data,
        status=MeetingStatus(form.status.data),
        location=form.location.data or "",
        note=form.note.data or "",
    )


@bp.post("/<int:network_id>/meetings")
def add_meeting(network_id: int):
    network = _network(network_id)
    form = MeetingForm()
    if form.validate_on_submit():
        try:
            service.add_meetings(network, [_meeting_data(form)])
        except service.MeetingError as problem:
            form.form_errors.append(str(problem))
        else:
            flash("Meeting added.")
            return redirect(url_for("networks_manage.edit", network_id=network_id) + "#meetings")
    return _page(network, meeting_form=form)


@bp.post("/<int:network_id>/meetings/paste")
def paste_meetings(network_id: int):
    network = _network(network_id)
    form = PasteMeetingsForm()
    if form.validate_on_submit():
        parsed, errors = service.parse_meeting_lines(form.lines.data)
        form.form_errors.extend(errors)
        if not errors:
            items = [
                service.MeetingData(
                    day=line.day,
                    start=form.start_time.data,
                    end=form.end_time.data,
                    status=line.status,
                    location=form.location.data or "",
                )
                for line in parsed
            ]
            try:
                added = service.add_meetings(network, items)
            except service.MeetingError as problem:
                form.form_errors.append(str(problem))
            else:
                flash(f"{len(added)} meetings added.")
                return redirect(
                    url_for("networks_manage.edit", network_id=network_id) + "#meetings"
                )
    return _page(network, paste_form=form)


@bp.route("/<int:network_id>/meetings/<int:meeting_id>", methods=["GET", "POST"])
def edit_meeting(network_id: int, meeting_id: int):
    network = _network(network_id)
    meeting = service.meeting_of(network_id, meeting_id)
    if meeting is None:
        abort(404)
    # Filled from the meeting only on a GET: a post without the version must not take its one.
    form = MeetingForm(obj=meeting) if request.method == "GET" else MeetingForm()
    if request.method == "GET":
        form.status.data = meeting.status.value
        form.start_time.data = service.local_time(meeting.starts_at)
        form.end_time.data = service.local_time(meeting.ends_at)
    elif form.validate_on_submit():
        try:
            service.update_meeting(meeting, _meeting_data(form), form.opened_version())
        except (StaleEdit, service.MeetingError) as problem:
            form.form_errors.append(str(problem))
        else:
            flash("Meeting saved.")
            return redirect(url_for("networks_manage.edit", network_id=network_id) + "#meetings")
    status = 400 if request.method == "POST" else 200
    return render_template(
        "networks/manage/meeting_form.html", network=network, meeting=meeting, form=form
    ), status
