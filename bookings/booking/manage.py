"""The console's booking pages: an event's delegates, booking by phone, cancelling, the
waiting-list override, the CSV, print views and check-in on the day (``bp``, for organisers),
and the sector and LSCB lists (``admin_bp``, for admins only).

Each view parses the request, calls one function of ``bookings.booking.service`` and renders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from bookings.accounts.models import Role
from bookings.booking import service
from bookings.booking.forms import (
    AllocateForm,
    AllocationForm,
    FilterForm,
    LscbForm,
    OnBehalfForm,
    OverrideForm,
    SectorForm,
    SectorLimitsForm,
)
from bookings.booking.models import Booking, BookingStatus
from bookings.db import db
from bookings.events.models import Event
from bookings.london import format_time, to_london
from bookings.web.console import Confirmation, confirmation_page, guard, page_arg
from bookings.web.forms import ButtonForm, form_status

bp = Blueprint("booking_manage", __name__, url_prefix="/manage/events/<int:event_id>")
guard(bp)

admin_bp = Blueprint("booking_admin", __name__, url_prefix="/manage/admin")
guard(admin_bp, Role.admin)


def _booking(event_id: int, booking_id: int) -> Booking:
    booking = service.booking_of(event_id, booking_id)
    if booking is None:
        abort(404)
    return booking


def _to_delegates(event_id: int):
    return redirect(url_for("booking_manage.delegates", event_id=event_id))


@bp.get("/delegates")
def delegates(event_id: int):
    event = db.get_or_404(Event, event_id)
    form = FilterForm(formdata=request.args)
    filters = form.filters()
    listed = service.delegate_list(event, filters, page_arg())
    form.set_sectors(listed.sectors)
    return render_template(
        "booking/manage/delegates.html",
        event=event,
        form=form,
        filters=filters,
        listed=listed,
        page=listed.page,
        bookings=listed.page.items,
        positions=listed.positions,
        availability=listed.availability,
        query=form.args(),
    )


@bp.get("/delegates.csv")
def delegates_csv(event_id: int):
    event = db.get_or_404(Event, event_id)
    filters = FilterForm(formdata=request.args).filters()
    response = Response(service.csv_export(event.id, filters), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{event.slug}-delegates.csv"'
    response.charset = "utf-8"
    return response


def _confirmed_sheet(event_id: int, template: str) -> str:
    """A printed sheet of the confirmed delegates: the list, or their name badges."""
    event = db.get_or_404(Event, event_id)
    confirmed = service.Filters(status=BookingStatus.confirmed)
    return render_template(template, event=event, bookings=service.delegates(event.id, confirmed))


@bp.get("/delegates/print")
def delegates_print(event_id: int):
    return _confirmed_sheet(event_id, "booking/manage/delegates_print.html")


@bp.get("/badges")
def badges(event_id: int):
    return _confirmed_sheet(event_id, "booking/manage/badges.html")


@bp.route("/delegates/new", methods=["GET", "POST"])
def book(event_id: int):
    event = db.get_or_404(Event, event_id)
    form = OnBehalfForm()
    form.set_sectors(service.active_sectors())
    form.set_lscbs(service.active_lscbs())
    if form.validate_on_submit():
        try:
            booking = service.book_on_behalf(event.id, form.details())
        except service.BookingRefused as refusal:
            form.form_errors.append(str(refusal))
        except service.AlreadyBooked:
            form.email.errors.append("This address already has a booking for this event.")
        else:
            where = (
                "a confirmed place"
                if booking.status == BookingStatus.confirmed
                else "a place on the waiting list"
            )
            flash(f"Booked {where}; reference {booking.reference}. The delegate has been e-mailed.")
            return _to_delegates(event_id)
    return render_template(
        "booking/manage/book.html",
        event=event,
        form=form,
        availability=service.availability(event),
    ), form_status(form)


def _cancel_confirmation(preview: service.CancelPreview, back: str) -> Confirmation:
    """Who is cancelled and what follows: the e-mail, and who gets the place."""
    booking = preview.booking
    facts = [
        ("Name", booking.name),
        ("Reference", booking.reference),
        ("Organisation", booking.organisation),
        (
            "Status",
            "On the waiting list, number " + str(preview.position)
            if preview.position
            else booking.status.value.title(),
        ),
    ]
    consequences = [f"{booking.name} is e-mailed that the booking is cancelled."]
    if preview.next_in_line is not None:
        nxt = preview.next_in_line
        consequences.append(
            f"The place goes to the next on the waiting list, {nxt.name} ({nxt.reference}), "
            "who is e-mailed."
        )
    elif booking.status == BookingStatus.confirmed:
        consequences.append("The place becomes free: nobody is waiting for it.")
    else:
        consequences.append("Those behind them on the waiting list move up one place.")
    consequences.append("The cancellation is kept in the event's history.")
    return Confirmation(
        title=f"Cancel the booking of {booking.name}?",
        button="Yes, cancel the booking",
        back=back,
        facts=facts,
        consequences=consequences,
        refusal=preview.refusal,
    )


@bp.route("/delegates/<int:booking_id>/cancel", methods=["GET", "POST"])
def cancel(event_id: int, booking_id: int):
    """GET asks (who, and who gets the place); POST cancels and says what happened. The
    query string is the delegates list's, kept for the way back."""
    event = db.get_or_404(Event, event_id)
    booking = _booking(event_id, booking_id)
    back = url_for("booking_manage.delegates", event_id=event_id, **_list_args())
    if request.method == "GET":
        preview = service.cancellation(booking)
        return confirmation_page(_cancel_confirmation(preview, back), event=event)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        done = service.cancel_for_delegate(booking.id)
    except service.BookingRefused as refusal:
        flash(str(refusal), "error")
        return redirect(back)
    message = (
        f"Cancelled the booking of {booking.name} ({booking.reference}); they have been e-mailed."
    )
    for promoted in done.promoted:
        message += (
            f" The place went to {promoted.name} ({promoted.reference}) from the waiting list,"
            " who has been e-mailed."
        )
    flash(message)
    return redirect(back)


# The delegates list's query arguments: its search, filters, order and page.
LIST_ARGS = ("q", "status", "sector", "sort", "dir", "page")


def _list_args() -> dict[str, str]:
    """The delegates list's arguments from the query string, to lead back to the same page
    (only as link arguments: the list itself reads them with ``FilterForm``)."""
    return {name: request.args[name][:100] for name in LIST_ARGS if request.args.get(name)}


@bp.route("/delegates/<int:booking_id>/override", methods=["GET", "POST"])
def override(event_id: int, booking_id: int):
    event = db.get_or_404(Event, event_id)
    booking = _booking(event_id, booking_id)
    form = OverrideForm()
    if booking.status != BookingStatus.waitlisted:
        flash("This delegate is not on the waiting list.", "error")
        return _to_delegates(event_id)
    if form.validate_on_submit():
        try:
            _, raised = service.confirm_with_override(booking.id, form.reason.data)
        except service.NotWaitlisted:
            flash("This delegate is no longer on the waiting list.", "error")
        except service.CapOverrun as overrun:
            flash(str(overrun), "error")
        else:
            extra = " Places were raised by one to make room." if raised else ""
            flash(f"{booking.reference} now has a confirmed place and has been e-mailed.{extra}")
        return _to_delegates(event_id)
    return render_template(
        "booking/manage/override.html",
        event=event,
        booking=booking,
        form=form,
        position=service.waiting_position(booking),
        availability=service.availability(event),
    ), form_status(form)


# ----------------------------------------------------------------------------- check-in


def _check_in_args(values: Mapping[str, str]) -> dict[str, str | int | None]:
    """The check-in page's search, filter and page from the query string or a row's form:
    what its links and forms carry, so that each tap comes back to the same list."""
    page = page_arg(values)
    return {
        "q": values.get("q", "")[:100] or None,
        "show": "waiting" if values.get("show") == "waiting" else None,
        "page": page if page > 1 else None,
    }


@bp.get("/check-in")
def check_in(event_id: int):
    event = db.get_or_404(Event, event_id)
    args = _check_in_args(request.args)
    listed = service.check_in_list(
        event.id, args["q"] or "", page_arg(), not_arrived=bool(args["show"])
    )
    return render_template(
        "booking/manage/check_in.html",
        event=event,
        q=args["q"] or "",
        waiting=bool(args["show"]),
        page=listed.page,
        bookings=listed.page.items,
        attended=listed.attended,
        confirmed=listed.confirmed,
        args=args,
    )


def _back_to_check_in(event_id: int, booking_id: int):
    """The no-script path: back to the same search and page, at the delegate's row."""
    target = url_for("booking_manage.check_in", event_id=event_id, **_check_in_args(request.form))
    return redirect(f"{target}#booking-{booking_id}")


def _wants_json() -> bool:
    """The check-in script asks for JSON (``Accept: application/json``); forms get pages."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _arrival(event_id: int, booking_id: int, arrived: bool):
    """Mark or undo an arrival: JSON with the new row for the script, else a redirect."""
    event = db.get_or_404(Event, event_id)
    booking = _booking(event_id, booking_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        done = service.set_arrival(booking.id, arrived)
    except service.NotConfirmed:
        refusal = "Only a delegate with a confirmed place can be checked in."
        if _wants_json():
            return jsonify(error=refusal), 409
        flash(refusal, "error")
        return _back_to_check_in(event_id, booking_id)
    b = done.booking
    message = (
        f"{b.name} marked as arrived at {format_time(b.attended_at)}."
        if b.attended
        else f"Arrival of {b.name} undone."
    )
    if not _wants_json():
        flash(message)
        return _back_to_check_in(event_id, booking_id)
    row = render_template(
        "booking/manage/_check_in_row.html",
        b=b,
        event=event,
        args=_check_in_args(request.form),
    )
    return jsonify(
        booking=b.id,
        attended=b.attended,
        message=message,
        attended_count=done.attended,
        confirmed_count=done.confirmed,
        row=row,
    )


@bp.post("/check-in/<int:booking_id>")
def mark_attended(event_id: int, booking_id: int):
    return _arrival(event_id, booking_id, arrived=True)


@bp.post("/check-in/<int:booking_id>/undo")
def undo_attended(event_id: int, booking_id: int):
    return _arrival(event_id, booking_id, arrived=False)


# ------------------------------------------------------------- places held for LSCBs and sectors


def _held_page(
    event: Event,
    allocate_form: AllocateForm | None = None,
    allocation_form: AllocationForm | None = None,
    error: str = "",
):
    """The allocations page; ``error``: a refusal of the remove button, shown at the top."""
    held = service.held_places(event)
    if allocate_form is None:
        allocate_form = AllocateForm(formdata=None)
        if event.allocations_release_at is not None:
            local = to_london(event.allocations_release_at)
            allocate_form.release_date.data = local.date()
            allocate_form.release_time.data = local.time()
    allocation_form = allocation_form or AllocationForm(formdata=None)
    allocation_form.set_lscbs(service.active_lscbs())
    if error:
        allocate_form.form_errors.append(error)
    return render_template(
        "booking/manage/allocations.html",
        event=event,
        held=held,
        allocate_form=allocate_form,
        allocation_form=allocation_form,
        error=error,
        links={
            row.allocation.id: url_for(
                "booking.lscb_link", slug=event.slug, link=row.token, _external=True
            )
            for row in held.allocations
        },
        activity=held.history,
    ), form_status(allocate_form, allocation_form)


def _to_allocations(event_id: int):
    return redirect(url_for("booking_manage.allocations", event_id=event_id))


@bp.route("/allocations", methods=["GET", "POST"])
def allocations(event_id: int):
    """The allocations page; its form holds places for every London LSCB."""
    event = db.get_or_404(Event, event_id)
    if request.method == "GET":
        return _held_page(event)
    form = AllocateForm()
    if form.validate_on_submit():
        release_at = form.release_at()
        if not form.errors:
            try:
                covered = service.allocate(event.id, form.places.data, release_at)
            except service.HeldPlacesError as refusal:
                form.form_errors.append(str(refusal))
                return _held_page(event, allocate_form=form)
            flash(f"{form.places.data} places held for each of {covered} London LSCBs.")
            return _to_allocations(event_id)
    return _held_page(event, allocate_form=form)


@bp.post("/allocations/lscb")
def set_allocation(event_id: int):
    event = db.get_or_404(Event, event_id)
    form = AllocationForm()
    form.set_lscbs(service.active_lscbs())
    if form.validate_on_submit():
        try:
            service.set_allocation(event.id, form.lscb.data, form.reserved.data)
        except service.HeldPlacesError as refusal:
            form.form_errors.append(str(refusal))
            return _held_page(event, allocation_form=form)
        flash("Places held updated.")
        return _to_allocations(event_id)
    return _held_page(event, allocation_form=form)


@bp.post("/allocations/<int:allocation_id>/remove")
def remove_allocation(event_id: int, allocation_id: int):
    event = db.get_or_404(Event, event_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        service.remove_allocation(event.id, allocation_id)
    except LookupError:
        abort(404)
    except service.HeldPlacesError as refusal:
        return _held_page(event, error=str(refusal))
    flash("Allocation removed.")
    return _to_allocations(event_id)


@bp.route("/sector-limits", methods=["GET", "POST"])
def sector_limits(event_id: int):
    event = db.get_or_404(Event, event_id)
    sectors = service.active_sectors()
    form = SectorLimitsForm.for_sectors(sectors)
    error = ""
    if form.validate_on_submit():
        rows = form.rows()
        if not form.errors:
            try:
                service.set_sector_limits(event.id, rows)
            except service.HeldPlacesError as refusal:
                error = str(refusal)
            else:
                flash("Sector limits saved.")
                return redirect(url_for("booking_manage.sector_limits", event_id=event_id))
    held = service.held_places(event)
    if request.method == "GET":
        form.fill(held.limits)
    if error:
        form.form_errors.append(error)
    return render_template(
        "booking/manage/sector_limits.html", event=event, form=form, sectors=sectors, held=held
    ), form_status(form)


# ------------------------------------------------------------------ sectors and LSCBs (admins)


@dataclass(frozen=True)
class _ListPage:
    """How one reference list appears in the console: its service list, form and endpoints."""

    ref: service.ReferenceList
    form: type[SectorForm] | type[LscbForm]
    title: str
    about: str
    endpoint: str
    add_endpoint: str
    action_endpoint: str

    @property
    def noun(self) -> str:
        """The entry's noun at the start of a sentence: "Sector", "LSCB"."""
        return self.ref.noun[0].upper() + self.ref.noun[1:]


SECTOR_PAGE = _ListPage(
    service.SECTORS,
    SectorForm,
    "Sectors",
    "The booking form offers these in this order. A retired sector is not offered any more but "
    "stays on old bookings and in the statistics. A sector in use cannot be deleted.",
    "booking_admin.sectors",
    "booking_admin.add_sector",
    "booking_admin.sector_action",
)
LSCB_PAGE = _ListPage(
    service.LSCBS,
    LscbForm,
    "LSCBs",
    "The local safeguarding children boards the booking form offers, in this order. A retired "
    "LSCB is not offered any more but stays on old bookings and in the statistics. An LSCB in "
    "use cannot be deleted.",
    "booking_admin.lscbs",
    "booking_admin.add_lscb",
    "booking_admin.lscb_action",
)
LIST_ACTIONS = ("rename", "up", "down", "retire", "restore", "delete")
ASKED_FIRST = ("retire", "delete")
SAVED = {
    "retire": "{} retired: the booking form no longer offers it.",
    "restore": "{} restored: the booking form offers it again.",
    "delete": "{} deleted.",
}


def _list_page(
    page: _ListPage,
    form: SectorForm | LscbForm,
    status: int = 200,
    *,
    failed: SectorForm | LscbForm | ButtonForm | None = None,
    failed_id: int | None = None,
):
    """The list; ``failed`` is a row's form that was refused, shown at the top and, for a
    rename, next to that row's name."""
    return render_template(
        "booking/manage/reference_list.html",
        page=page,
        rows=service.entries_with_use(page.ref),
        form=form,
        action_form=ButtonForm(),
        failed=failed,
        failed_id=failed_id,
    ), status


def _add_entry(page: _ListPage):
    form = page.form()
    if form.validate_on_submit():
        try:
            entry = service.add_entry(page.ref, form.name.data)
        except service.ReferenceListError as problem:
            form.name.errors.append(str(problem))
        else:
            flash(f"{page.noun} added: {entry.name}.")
            return redirect(url_for(page.endpoint))
    return _list_page(page, form, form_status(form))


def _entry_action(page: _ListPage, entry_id: int, action: str):
    """A change to one entry (POST); retiring and deleting ask first (GET), other actions
    have no page to show."""
    if action not in LIST_ACTIONS:
        abort(404)
    if request.method == "GET":
        if action not in ASKED_FIRST:
            abort(404)
        return _confirm_entry(page, entry_id, action)
    renaming = action == "rename"
    form = page.form() if renaming else ButtonForm()
    if renaming:
        form.name.id = f"name-{entry_id}"
    if form.validate_on_submit():
        try:
            if renaming:
                service.rename_entry(page.ref, entry_id, form.name.data)
            elif action in ("up", "down"):
                service.move_entry(page.ref, entry_id, -1 if action == "up" else 1)
            elif action in ("retire", "restore"):
                service.set_entry_retired(page.ref, entry_id, action == "retire")
            else:
                service.delete_entry(page.ref, entry_id)
        except LookupError:
            abort(404)
        except service.ReferenceListError as problem:
            if not renaming:
                flash(str(problem), "error")
                return redirect(url_for(page.endpoint))
            form.name.errors.append(str(problem))
        else:
            flash(SAVED.get(action, "{} list saved.").format(page.noun))
            return redirect(url_for(page.endpoint))
    return _list_page(
        page, page.form(formdata=None), form_status(form), failed=form, failed_id=entry_id
    )


def _confirm_entry(page: _ListPage, entry_id: int, action: str):
    """The question before retiring or deleting an entry; the POST to the same address acts."""
    use = service.entry_use(page.ref, entry_id)
    if use is None:
        abort(404)
    name = use.entry.name
    back = url_for(page.endpoint)
    facts = [(page.noun, name), ("Used by", f"{use.used} {use.what}")]
    if action == "retire":
        confirmation = Confirmation(
            title=f"Retire the {page.ref.noun} {name}?",
            button="Yes, retire it",
            back=back,
            facts=facts,
            consequences=[
                "The booking form stops offering it.",
                "Bookings that carry it keep it, and it stays in the statistics.",
                "You can restore it at any time.",
            ],
            refusal=f"This {page.ref.noun} is already retired." if use.entry.retired else "",
        )
    else:
        confirmation = Confirmation(
            title=f"Delete the {page.ref.noun} {name}?",
            button="Yes, delete it",
            back=back,
            facts=facts,
            consequences=[f"It leaves the {page.ref.noun} list for good."],
            refusal=use.delete_refusal,
        )
    return confirmation_page(confirmation)


@admin_bp.get("/sectors", endpoint="sectors")
def sector_list():
    return _list_page(SECTOR_PAGE, SectorForm())


@admin_bp.post("/sectors/new")
def add_sector():
    return _add_entry(SECTOR_PAGE)


@admin_bp.route("/sectors/<int:entry_id>/<action>", methods=["GET", "POST"])
def sector_action(entry_id: int, action: str):
    return _entry_action(SECTOR_PAGE, entry_id, action)


@admin_bp.get("/lscbs", endpoint="lscbs")
def lscb_list():
    return _list_page(LSCB_PAGE, LscbForm())


@admin_bp.post("/lscbs/new")
def add_lscb():
    return _add_entry(LSCB_PAGE)


@admin_bp.route("/lscbs/<int:entry_id>/<action>", methods=["GET", "POST"])
def lscb_action(entry_id: int, action: str):
    return _entry_action(LSCB_PAGE, entry_id, action)
