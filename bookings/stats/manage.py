"""Attendance by sector for organisers (/manage/stats): the tables, one event's figures,
the downloads and the figures recorded by hand."""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from bookings.db import utcnow
from bookings.evaluation import service as evaluation
from bookings.events.models import EventKind
from bookings.london import london_date
from bookings.stats import export, service
from bookings.stats.forms import FilterForm, TakeUpFilterForm, recorded_figures_form
from bookings.stats.models import FigureBasis
from bookings.web.console import Confirmation, confirmation_page, guard
from bookings.web.forms import form_status

bp = Blueprint("stats", __name__, url_prefix="/manage/stats")
guard(bp)

TABLES = ("events", "board-years", "conference")


@bp.app_template_filter("percent")
def percent(value: float | None) -> str:
    """33% for whole numbers, 33.5% otherwise, a dash when there is no figure."""
    if value is None:
        return "—"
    return f"{value:.0f}%" if value == int(value) else f"{value:.1f}%"


@bp.app_template_filter("figure")
def figure(value: int | None) -> str:
    """A dash when there is no figure. Not named ``count``: that would replace Jinja's own."""
    return "—" if value is None else str(value)


def _filters(form_class: type[FilterForm] = FilterForm) -> tuple[FilterForm, service.Filters]:
    form = form_class(formdata=request.args)
    form.set_choices(*service.filter_choices())
    if not form.validate():
        return form, service.Filters()
    network = form.network.data
    year = form.board_year.data
    return form, service.Filters(
        kind=EventKind(form.kind.data) if form.kind.data else None,
        date_from=form.date_from.data,
        date_to=form.date_to.data,
        board_year=int(year) if year else None,
        series=form.series.data or None,
        network_id=int(network) if network else None,
        measure=form.measure.data if form.measure else "attended",
    )


@bp.get("/")
def index():
    form, filters = _filters()
    status = 400 if form.errors else 200
    return render_template(
        "stats/index.html", form=form, overview=service.overview(filters), measures=service.MEASURES
    ), status


def _csv(text: str, name: str) -> Response:
    response = Response(text, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


def _download(payload_json: dict, csv_text: str, name: str, fmt: str) -> Response:
    if fmt == "json":
        body = json.dumps(payload_json, indent=2, ensure_ascii=False)
        mimetype = "application/json"
    else:
        body = csv_text
        mimetype = "text/csv"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@bp.get("/<any(events, 'board-years', conference):table>.<any(csv, json):fmt>")
def download(table: str, fmt: str):
    form, filters = _filters()
    if form.errors:
        abort(400)
    chosen = service.overview(filters).tables()[table]
    return _download(
        export.table_json(chosen),
        export.table_csv(chosen),
        f"attendance-by-sector-{table}-{london_date(utcnow()).isoformat()}",
        fmt,
    )


@bp.get("/events/<int:event_id>")
def event(event_id: int):
    breakdown = service.event_breakdown(event_id)
    if breakdown is None:
        abort(404)
    return render_template(
        "stats/event.html",
        b=breakdown,
        measures=service.MEASURES,
        note=service.ROUNDING_NOTE,
        evaluation=evaluation.results(breakdown.event) if breakdown.ended else None,
        take_up_note=service.TAKE_UP_NOTE,
    )


@bp.get("/events/<int:event_id>.<any(csv, json):fmt>")
def event_download(event_id: int, fmt: str):
    breakdown = service.event_breakdown(event_id)
    if breakdown is None:
        abort(404)
    return _download(
        export.breakdown_json(breakdown),
        export.breakdown_csv(breakdown),
        f"attendance-by-sector-{breakdown.event.slug}",
        fmt,
    )


@bp.get("/events/<int:event_id>/lscbs.csv")
def event_lscbs_csv(event_id: int):
    breakdown = service.event_breakdown(event_id)
    if breakdown is None:
        abort(404)
    return _csv(export.lscb_csv(breakdown), f"attendance-by-lscb-{breakdown.event.slug}")


@bp.get("/events/<int:event_id>/take-up.csv")
def event_take_up_csv(event_id: int):
    breakdown = service.event_breakdown(event_id)
    if breakdown is None:
        abort(404)
    return _csv(export.take_up_csv(breakdown.take_up), f"lscb-take-up-{breakdown.event.slug}")


@bp.get("/events/<int:event_id>/sector-mix.csv")
def event_sector_mix_csv(event_id: int):
    breakdown = service.event_breakdown(event_id)
    if breakdown is None:
        abort(404)
    return _csv(export.sector_mix_csv(breakdown), f"sector-mix-{breakdown.event.slug}")


@bp.get("/lscbs")
def take_up():
    """The LSCBs' reserved places over the chosen events: who used their free places."""
    form, filters = _filters(TakeUpFilterForm)
    status = 400 if form.errors else 200
    return render_template(
        "stats/take_up.html",
        form=form,
        filters=filters,
        table=service.take_up_across(filters),
        note=service.TAKE_UP_NOTE,
    ), status


@bp.get("/lscbs.csv")
def take_up_csv():
    form, filters = _filters(TakeUpFilterForm)
    if form.errors:
        abort(400)
    return _csv(
        export.take_up_csv(service.take_up_across(filters), across=True),
        f"lscb-take-up-{london_date(utcnow()).isoformat()}",
    )


@bp.route("/events/<int:event_id>/recorded", methods=["GET", "POST"])
def recorded(event_id: int):
    breakdown = service.event_breakdown(event_id)
    if breakdown is None:
        abort(404)
    figures = breakdown.figures
    initial = {}
    if figures is not None and request.method == "GET":
        initial = {
            "basis": figures.basis.value,
            "total": figures.total,
            "source": figures.source,
            **{
                f"sector_{line.sector_id}": (
                    line.value / 10 if figures.basis == FigureBasis.percentages else line.value
                )
                for line in figures.lines
            },
        }
    form = recorded_figures_form(breakdown.sectors, data=initial)
    if form.validate_on_submit():
        values = {
            sector.id: (float(form[name].data) if form[name].data is not None else None)
            for sector, name in form.sector_field_names
        }
        try:
            service.save_recorded_figures(
                event_id, FigureBasis(form.basis.data), values, form.total.data, form.source.data
            )
        except service.FiguresError as exc:
            form.form_errors.append(str(exc))
        else:
            flash("The recorded figures are saved.")
            return redirect(url_for("stats.event", event_id=event_id))
    return render_template("stats/recorded.html", form=form, b=breakdown), form_status(form)


@bp.route("/events/<int:event_id>/recorded/delete", methods=["GET", "POST"])
def delete_recorded(event_id: int):
    if request.method == "GET":
        breakdown = service.event_breakdown(event_id)
        if breakdown is None:
            abort(404)
        return confirmation_page(
            Confirmation(
                title=f"Delete the recorded figures of {breakdown.event.title}?",
                button="Yes, delete them",
                back=url_for("stats.event", event_id=event_id),
                consequences=[
                    "The figures entered by hand are deleted; the figures counted from "
                    "bookings stay."
                ],
                refusal="" if breakdown.recorded else "No figures are recorded for this event.",
            )
        )
    if service.delete_recorded_figures(event_id):
        flash("The recorded figures are deleted.")
    return redirect(url_for("stats.event", event_id=event_id))
