"""Organisers' evaluation pages: the questions and closing date, and the results download.

The results themselves are shown on the event's statistics page (``stats.manage``)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from bookings.evaluation import service
from bookings.evaluation.forms import MAX_QUESTIONS, ClosingForm, QuestionsForm
from bookings.events import service as event_service
from bookings.web.console import guard

bp = Blueprint("evaluation_manage", __name__, url_prefix="/manage/events/<int:event_id>")
guard(bp)


def _event(event_id: int):
    event = event_service.event(event_id)
    if event is None:
        abort(404)
    return event


def _page(event, questions: QuestionsForm | None = None, closing: ClosingForm | None = None):
    q = service.questionnaire(event)
    if questions is None:
        questions = QuestionsForm(formdata=None)
        questions.fill(q.questions)
    if closing is None:
        closing = ClosingForm(formdata=None)
        closing.fill(q.closes_at)
    failed = questions.errors or questions.form_errors or closing.errors or closing.form_errors
    return render_template(
        "evaluation/manage/evaluation.html",
        event=event,
        q=q,
        questions=questions,
        closing=closing,
        rows=range(MAX_QUESTIONS),
    ), (422 if request.method == "POST" and failed else 200)


@bp.get("/evaluation")
def evaluation(event_id: int):
    return _page(_event(event_id))


@bp.post("/evaluation/questions")
def save_questions(event_id: int):
    event = _event(event_id)
    form = QuestionsForm()
    if form.validate_on_submit():
        try:
            service.save_questions(event_id, form.rows())
        except service.EvaluationRefused as refusal:
            form.form_errors.append(str(refusal))
        else:
            flash("The evaluation questions are saved.")
            return redirect(url_for("evaluation_manage.evaluation", event_id=event_id), code=303)
    return _page(event, questions=form)


@bp.post("/evaluation/closing")
def set_closing(event_id: int):
    event = _event(event_id)
    form = ClosingForm()
    if form.validate_on_submit():
        try:
            service.set_closing(event_id, form.closes_at)
        except service.EvaluationRefused as refusal:
            form.form_errors.append(str(refusal))
        else:
            flash("The closing date is saved.")
            return redirect(url_for("evaluation_manage.evaluation", event_id=event_id), code=303)
    return _page(event, closing=form)


@bp.get("/evaluation.csv")
def results_csv(event_id: int):
    event = _event(event_id)
    response = Response(service.results_csv(event), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="evaluation-{event.slug}.csv"'
    return response
