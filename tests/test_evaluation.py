"""The evaluation: who is invited, one response per booking, the closing date, the results the
Board may quote and pass on (the sector threshold), the CSV, and the purge."""

from __future__ import annotations

import csv
import http.cookiejar
import io
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bookings.booking.models import Booking, BookingStatus
from bookings.db import db, utcnow
from bookings.evaluation import service
from bookings.evaluation.models import EvaluationAnswer, EvaluationResponse, QuestionKind
from bookings.privacy import service as privacy
from tests.aftercare import delegate, past_event

ANSWERS = {
    "answer_0": "5",
    "answer_1": "4",
    "answer_2": "4",
    "answer_3": "5",
    "answer_4": "Check the child's own account first.",
    "quote_4": "y",
}


def answers(rating: int = 4, text: str = "", quote: bool = False) -> list[service.Answer]:
    return [service.Answer(rating=rating)] * 4 + [service.Answer(text=text, may_quote=quote)]


def responses() -> int:
    return db.session.scalar(select(func.count(EvaluationResponse.id)))


def test_only_attended_delegates_are_invited_on_their_booking_page(client, make):
    sector = make.sector("Health")
    event = past_event(make)
    _came, came = delegate(event, sector)
    _absent, absent = delegate(event, sector, attended=False)
    _gone, gone = delegate(event, sector, status=BookingStatus.cancelled)

    page = client.get(f"/bookings/{came}").text
    assert "Give feedback" in page and f"/bookings/{came}/feedback" in page
    for token in (absent, gone):
        assert "Give feedback" not in client.get(f"/bookings/{token}").text
        form = client.get(f"/bookings/{token}/feedback").text
        assert "for delegates who were checked in" in form
        assert client.post(f"/bookings/{token}/feedback", data=ANSWERS).status_code == 200
    assert responses() == 0


def test_the_evaluation_opens_when_the_event_ends(client, make):
    sector = make.sector("Health")
    starts = utcnow() - timedelta(hours=1)
    event = make.event(starts_at=starts, ends_at=starts + timedelta(hours=3))
    _booking, token = delegate(event, sector)
    assert "After the event you can tell us" in client.get(f"/bookings/{token}").text
    client.post(f"/bookings/{token}/feedback", data=ANSWERS)
    assert responses() == 0


def test_a_response_is_stored_once_and_the_page_thanks_the_delegate(client, make):
    sector = make.sector("Health")
    event = past_event(make)
    booking, token = delegate(event, sector)
    form = client.get(f"/bookings/{token}/feedback").text
    assert "How relevant was it to your practice?" in form
    assert "may quote this answer" in form

    refused = client.post(f"/bookings/{token}/feedback", data={"answer_4": "x"})
    assert refused.status_code == 422 and "Choose a rating from 1 to 5." in refused.text

    sent = client.post(f"/bookings/{token}/feedback", data=ANSWERS, follow_redirects=True)
    assert "your feedback has been received" in sent.text
    assert "we have your feedback" in client.get(f"/bookings/{token}").text
    again = client.post(f"/bookings/{token}/feedback", data=ANSWERS, follow_redirects=True)
    assert "we have your feedback" in again.text
    assert responses() == 1
    with pytest.raises(service.AlreadyAnswered):
        service.submit(booking.id, answers())
    stored = db.session.scalars(select(EvaluationAnswer).order_by(EvaluationAnswer.id)).all()
    assert [a.rating for a in stored] == [5, 4, 4, 5, None]
    assert stored[-1].text == "Check the child's own account first." and stored[-1].may_quote


@pytest.mark.slow
def test_two_posts_at_once_store_one_response(app, make, tmp_path):
    from tests.test_concurrency import gunicorn

    sector = make.sector("Health")
    event = past_event(make)
    _booking, token = delegate(event, sector)
    statuses: list[int] = []

    def post(barrier: threading.Barrier) -> None:
        data = urllib.parse.urlencode(ANSWERS).encode()
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        barrier.wait()
        try:
            with opener.open(f"{base}/bookings/{token}/feedback", data, timeout=60) as r:
                statuses.append(r.status)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    env = {"FLASK_WTF_CSRF_ENABLED": "false"}
    with gunicorn(str(url), app.config["SECRET_KEY"], tmp_path, env=env) as base:
        barrier = threading.Barrier(4)
        threads = [threading.Thread(target=post, args=(barrier,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    # Each post ends on the booking page: one thanks, the others say it is already answered.
    assert statuses == [200] * 4
    db.session.expire_all()
    assert responses() == 1
    assert db.session.scalar(select(func.count(EvaluationAnswer.id))) == 5


def test_after_the_closing_date_the_page_says_it_is_closed(client, make, login):
    login()
    sector = make.sector("Health")
    event = past_event(make, days_ago=3)
    booking, token = delegate(event, sector)
    closes = utcnow() + timedelta(days=1)
    day = closes.strftime("%Y-%m-%d")
    refused = client.post(
        f"/manage/events/{event.id}/evaluation/closing",
        data={"day": (event.starts_at - timedelta(days=1)).strftime("%Y-%m-%d"), "at": "09:00"},
    )
    assert refused.status_code == 422 and "must come after the event ends" in refused.text
    client.post(f"/manage/events/{event.id}/evaluation/closing", data={"day": day, "at": "23:00"})
    assert "Give feedback" in client.get(f"/bookings/{token}").text

    later = utcnow() + timedelta(days=3)
    assert service.invitation(booking, later).state == service.InvitationState.closed
    with pytest.raises(service.EvaluationRefused, match="closed on"):
        service.submit(booking.id, answers(), now=later)
    past_closing = past_event(make, days_ago=40)
    _b, old = delegate(past_closing, sector)
    assert "The evaluation of this event closed on" in client.get(f"/bookings/{old}").text
    assert "closed on" in client.get(f"/bookings/{old}/feedback").text


def test_organisers_edit_the_questions_until_the_evaluation_opens(client, make, login):
    login()
    sector = make.sector("Health")
    event = make.event()
    page = client.get(f"/manage/events/{event.id}/evaluation").text
    assert "default questions" in page and "How good was the content?" in page
    data = {"text_0": "How useful was the workshop?", "kind_0": "rating"}
    data |= {"text_1": "What was missing?", "kind_1": "text"}
    data |= {f"kind_{i}": "rating" for i in range(2, 12)}
    saved = client.post(
        f"/manage/events/{event.id}/evaluation/questions", data=data, follow_redirects=True
    )
    assert "The evaluation questions are saved." in saved.text
    q = service.questionnaire(event)
    assert [(x.kind, x.text) for x in q.questions] == [
        (QuestionKind.rating, "How useful was the workshop?"),
        (QuestionKind.text, "What was missing?"),
    ]
    ended = past_event(make)
    delegate(ended, sector)
    refused = client.post(f"/manage/events/{ended.id}/evaluation/questions", data=data)
    assert (
        refused.status_code == 422 and "the evaluation opened when the event ended" in refused.text
    )
    assert not service.questionnaire(ended).saved


def _answered(event, sector, n: int, rating: int = 4) -> list[Booking]:
    made = []
    for _ in range(n):
        booking, _token = delegate(event, sector)
        service.submit(booking.id, answers(rating, "Useful", quote=True))
        made.append(booking)
    return made


def _shown_groups(results: service.Results) -> list[tuple[str, int]]:
    rows = results.sectors + ([results.other] if results.other else [])
    return [(r.name, r.responses) for r in rows]


def _assert_nothing_small_can_be_worked_out(results: service.Results) -> None:
    """Every row shown, and what the total leaves when the rows shown are taken from it, has
    at least the threshold: a withheld group cannot be recovered by subtraction."""
    shown = _shown_groups(results)
    assert all(n >= service.SECTOR_THRESHOLD for _name, n in shown)
    left = results.responses - sum(n for _name, n in shown)
    assert left == 0 or not shown


def test_a_sector_is_shown_only_with_five_responses(client, make, login):
    login()
    health, probation, police = (
        make.sector("Health"),
        make.sector("Probation"),
        make.sector("Police"),
    )
    event = past_event(make)
    _answered(event, health, 5, rating=5)
    _answered(event, probation, 4, rating=1)
    # Health alone beside the overall figures would give away the four probation answers.
    results = service.results(event)
    assert results.sectors == [] and results.other is None and results.withheld == 2
    _assert_nothing_small_can_be_worked_out(results)
    page = client.get(f"/manage/stats/events/{event.id}").text
    breakdown = page.split('id="by-sector"')[1].split('id="not-answered"')[0]
    assert "Probation" not in breakdown and "Health" not in breakdown
    assert "No breakdown yet: 2 sectors answered" in breakdown

    _answered(event, probation, 1, rating=1)
    _answered(event, police, 2, rating=3)
    results = service.results(event)
    assert [(row.name, row.responses) for row in results.sectors] == [("Health", 5)]
    assert results.other.name == "Other sectors" and results.other.responses == 7
    _assert_nothing_small_can_be_worked_out(results)

    _answered(event, police, 3, rating=3)
    results = service.results(event)
    assert [(row.name, row.responses) for row in results.sectors] == [
        ("Health", 5),
        ("Probation", 5),
        ("Police", 5),
    ]
    assert results.other is None

    other = past_event(make)
    _answered(other, health, 5)
    _answered(other, probation, 3)
    _answered(other, police, 2)
    grouped = service.results(other)
    assert [row.name for row in grouped.sectors] == ["Health"]
    assert grouped.other.name == service.OTHER_SECTORS and grouped.other.responses == 5
    _assert_nothing_small_can_be_worked_out(grouped)


def test_a_lone_withheld_answer_takes_the_smallest_shown_sector_with_it(client, make, login):
    login()
    health, police, probation = (
        make.sector("Health"),
        make.sector("Police"),
        make.sector("Probation"),
    )
    event = past_event(make)
    _answered(event, health, 6, rating=5)
    _answered(event, police, 5, rating=3)
    _answered(event, probation, 1, rating=1)
    results = service.results(event)
    assert [(row.name, row.responses) for row in results.sectors] == [("Health", 6)]
    assert results.other.responses == 6
    _assert_nothing_small_can_be_worked_out(results)
    page = client.get(f"/manage/stats/events/{event.id}").text
    breakdown = page.split('id="by-sector"')[1].split('id="not-answered"')[0]
    assert "Police" not in breakdown and "Probation" not in breakdown
    assert "Other sectors" in breakdown

    text = client.get(f"/manage/events/{event.id}/evaluation.csv").data.decode("utf-8-sig")
    sectors = [row[2] for row in list(csv.reader(io.StringIO(text)))[1:]]
    assert sectors.count("Health") == 6 and sectors.count("Other sectors") == 6
    assert "Police" not in text and "Probation" not in text


def test_the_stats_page_shows_rate_distributions_quotes_and_who_has_not_answered(
    client, make, login
):
    login()
    sector = make.sector("Health")
    event = past_event(make)
    first, _t = delegate(event, sector, name="Ann Ash")
    second, _t = delegate(event, sector, name="Bo Birch")
    delegate(event, sector, name="Cy Cedar")
    delegate(event, sector, name="Di Dogwood", attended=False)
    service.submit(first.id, answers(5, "Ask the child", quote=True))
    service.submit(second.id, answers(3, "Not for quoting", quote=False))
    page = client.get(f"/manage/stats/events/{event.id}").text
    assert "2 of 3 delegates who attended answered (66.7%)" in page
    assert '"Ask the child"' in page and "Not for quoting" not in page
    not_answered = page.split('id="not-answered"')[1]
    assert "Cy Cedar" in not_answered and "Ann Ash" not in not_answered
    assert "Di Dogwood" not in page
    quotes = page.split('id="quotes"')[1].split('id="by-sector"')[0]
    assert "Ann Ash" not in quotes
    results = service.results(event)
    assert results.distributions[0].counts == {1: 0, 2: 0, 3: 1, 4: 0, 5: 1}
    assert results.distributions[0].mean == 4.0


def test_the_csv_has_one_row_per_response_and_no_names(client, make, login):
    login()
    health, probation = make.sector("Health"), make.sector("Probation")
    event = past_event(make)
    for booking in _answered(event, health, 5):
        assert booking.name
    (lone,) = _answered(event, probation, 1)
    response = client.get(f"/manage/events/{event.id}/evaluation.csv")
    assert response.headers["Content-Disposition"].startswith("attachment")
    text = response.data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["Response", "Submitted", "Sector"]
    assert "May quote: What will you do differently as a result of this event?" in rows[0]
    assert len(rows) == 7
    sectors = [row[2] for row in rows[1:]]
    # Health beside the totals would give away the lone probation answer: no breakdown.
    assert "Health" not in sectors and "Probation" not in sectors
    assert set(sectors) == {"Not shown (too few responses)"}
    assert lone.name not in text and "Delegate" not in text


def test_the_purge_keeps_answers_and_sector_but_not_identity(app, make):
    sector = make.sector("Probation")
    event = past_event(make, days_ago=10)
    made = _answered(event, sector, 5)
    before = service.results(event)
    privacy.purge(utcnow().date(), ran_from="test")
    db.session.expire_all()
    after = service.results(event)
    assert after.responses == 5 and [r.name for r in after.sectors] == ["Probation"]
    assert after.distributions[0].counts == before.distributions[0].counts
    assert [q[1] for q in after.quotes] == [q[1] for q in before.quotes]
    for booking in made:
        purged = db.session.get(Booking, booking.id)
        assert purged.name == privacy.PURGED_NAME and purged.email == ""
        assert purged.sector_id == sector.id
    linked = db.session.scalars(select(EvaluationResponse.booking_id)).all()
    assert sorted(linked) == sorted(b.id for b in made)


def test_feedback_forms_refuse_control_characters(client, make):
    sector = make.sector("Health")
    event = past_event(make)
    _booking, token = delegate(event, sector)
    refused = client.post(
        f"/bookings/{token}/feedback", data={**ANSWERS, "answer_4": "bad\x00text"}
    )
    assert refused.status_code == 422 and responses() == 0
    assert re.search(r'class="error-message"', refused.text)
