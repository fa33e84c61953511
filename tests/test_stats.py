"""Attendance by sector: sums, percentages, filters, recorded figures, downloads, the purge."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import date, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bookings.db import db, utcnow
from bookings.london import london_date, london_datetime
from bookings.models import (
    Booking,
    BookingStatus,
    EventKind,
    OutboxMessage,
    RecordedFigures,
    Role,
)
from bookings.stats import service
from bookings.stats.service import Filters, apportion, shares
from tests import test_browser as browser_setup
from tests.browser import next_page
from tests.conftest import default_lscb

_numbers = itertools.count(1)


def add_bookings(
    event, sector, n: int = 1, status=BookingStatus.confirmed, attended: bool = False
) -> list[Booking]:
    """Bookings written directly: past events cannot be booked through the booking rules."""
    made = []
    for _ in range(n):
        k = next(_numbers)
        booking = Booking(
            event=event,
            sector=sector,
            lscb_id=default_lscb().id,
            reference=f"T{k:08d}",
            token_salt="salt",
            token_hash=f"hash-{k}",
            status=status,
            name=f"Delegate {k}",
            email=f"delegate{k}@example.org",
            email_key=f"delegate{k}@example.org",
            organisation="Barnet PCT",
            job_title="Named nurse",
            dietary_needs="vegetarian",
            access_needs="hearing loop",
            attended_at=event.starts_at if attended else None,
        )
        db.session.add(booking)
        made.append(booking)
    db.session.commit()
    return made


def past(day: date, hour: int = 10):
    return london_datetime(day, time(hour, 0))


@pytest.fixture
def sectors(make):
    names = ["Health", "Police", "Social care", "Education", "Probation"]
    return {name: make.sector(name, position=i) for i, name in enumerate(names)}


# ----------------------------------------------------------------------------- percentages


def test_apportion_shares_out_exactly_the_seats():
    assert apportion([333, 333, 333, 1], 10) == [4, 3, 3, 0]
    assert apportion([1, 2], 0) == [0, 0]
    assert sum(apportion([7, 11, 13, 2], 97)) == 97


def test_shares_add_up_to_100_by_largest_remainder():
    assert shares([1, 1, 1]) == [34, 33, 33]
    assert sum(shares([3, 7, 11, 13, 2])) == 100
    assert shares([2, 1]) == [67, 33]
    assert shares([0, 0]) == [0, 0]
    # Out of a larger total, the named shares leave room for the rest.
    assert shares([20, 12], total=100) == [20, 12]


# ----------------------------------------------------------------------------- one event


def test_event_breakdown_counts_each_outcome_by_sector(app, make, sectors):
    event = make.event(starts_at=past(date(2008, 4, 9)))
    add_bookings(event, sectors["Health"], 3, attended=True)
    add_bookings(event, sectors["Health"], 1)  # booked, did not come
    add_bookings(event, sectors["Police"], 2, attended=True)
    add_bookings(event, sectors["Social care"], 1, BookingStatus.cancelled)
    add_bookings(event, sectors["Education"], 1, BookingStatus.waitlisted)

    b = service.event_breakdown(event.id)

    by_name = {s.name: c for s, c in zip(b.sectors, b.counts, strict=True)}
    assert by_name["Health"] == service.Counts(
        confirmed=4, attended=3, no_show=1, cancelled=0, waitlisted=0
    )
    assert by_name["Probation"] == service.Counts()
    assert b.totals == service.Counts(confirmed=6, attended=5, no_show=1, cancelled=1, waitlisted=1)
    for measure in service.MEASURES:
        assert sum(b.percents[measure]) in (0, 100)
    assert b.percents["attended"][:2] == [60, 40]
    assert [s.name for s in b.not_represented] == ["Social care", "Education", "Probation"]


def test_event_page_shows_sectors_not_represented_and_rounding(client, login, make, sectors):
    login()
    event = make.event(starts_at=past(date(2008, 7, 10)))
    add_bookings(event, sectors["Health"], 1, attended=True)
    add_bookings(event, sectors["Police"], 1, attended=True)
    add_bookings(event, sectors["Education"], 1, attended=True)

    page = client.get(f"/manage/stats/events/{event.id}").text

    assert "3 booked, 3 attended, 0 did not come" in page
    assert "2 of 5 sectors (40%) have no booked delegate: Social care, Probation" in page
    assert "34%" in page and page.count(">33%<") >= 2  # 34 + 33 + 33: the column adds to 100
    assert "largest remainder" in page
    assert '<svg viewBox="0 0 640' in page and "<title id=" in page and "<desc id=" in page


def test_no_shows_wait_until_the_event_is_over(app, make, sectors):
    event = make.event()  # in a month
    add_bookings(event, sectors["Health"], 2)
    assert service.event_breakdown(event.id).totals.no_show == 0


def _row_of(page: str, title: str) -> str:
    """The HTML of the first table row that names ``title``."""
    (before, after) = page.split(title, 1)
    return before[before.rindex("<tr") :] + title + after[: after.index("</tr>")]


def test_an_event_not_yet_held_says_so_instead_of_rows_of_zeros(client, login, make, sectors):
    login()
    held = make.event(title="Held seminar", starts_at=past(date(2008, 4, 9)))
    add_bookings(held, sectors["Health"], 3, attended=True)
    upcoming = make.event(title="Neglect seminar")  # in a month
    add_bookings(upcoming, sectors["Health"], 2)

    row = _row_of(client.get("/manage/stats/").text, "Neglect seminar")
    assert "Not yet held" in row
    assert "0%" not in row and ">0<" not in row
    assert "3" in _row_of(client.get("/manage/stats/").text, "Held seminar")

    # Bookings so far are real figures, and are shown as such.
    booked = _row_of(client.get("/manage/stats/?measure=confirmed").text, "Neglect seminar")
    assert "so far; not yet held" in booked and ">2<" in booked

    page = client.get(f"/manage/stats/events/{upcoming.id}").text
    assert "Not yet held" in page and "So far 2 booked" in page
    assert ">Attended</th>" not in page and "did not come</th>" not in page
    assert "0 attended" not in page

    years = service.board_years_table(service.events_table(Filters()), Filters())
    assert years.rows[-1].not_held and years.rows[-1].counts == (None,) * len(sectors)
    this_year = _row_of(client.get("/manage/stats/").text, f">{years.rows[-1].label}</th>")
    assert "Not yet held" in this_year and "0%" not in this_year

    (line,) = [
        r
        for r in csv.DictReader(
            io.StringIO(client.get("/manage/stats/events.csv").data.decode("utf-8-sig"))
        )
        if "Neglect seminar" in r["Row"]
    ]
    assert line["Figures"] == "Not yet held" and line["Health (number)"] == ""
    data = client.get(f"/manage/stats/events/{upcoming.id}.json").json
    assert data["event"]["held"] is False and data["totals"]["attended"] is None
    assert data["totals"]["confirmed"] == 2


def test_a_conference_not_yet_held_shows_its_bookings_so_far(app, make, sectors):
    make.event(kind=EventKind.conference, starts_at=past(date(2008, 12, 12)))
    coming = make.event(kind=EventKind.conference)
    nobody = make.event(kind=EventKind.conference, starts_at=utcnow() + timedelta(days=400))
    add_bookings(coming, sectors["Police"], 3)

    table = service.conference_table()
    rows = {row.event_id: row for row in table.rows}
    assert rows[coming.id].not_held and rows[coming.id].counts[1] == 3
    assert "not yet held" in rows[coming.id].basis
    chart = service.stacked_bars(table)
    assert [row.note for row in chart.rows] == ["No figures yet", "", "Not yet held"]
    assert rows[nobody.id].total == 0


def test_charts_carry_patterns_and_a_phone_list_of_the_same_shares(client, login, make, sectors):
    login()
    event = make.event(kind=EventKind.conference, starts_at=past(date(2008, 12, 12)))
    add_bookings(event, sectors["Health"], 3, attended=True)
    add_bookings(event, sectors["Police"], 1, attended=True)

    page = client.get("/manage/stats/").text
    # Colour is not the only cue: every sector but the first has a fill pattern.
    for n in range(1, service.COLOURS):
        assert f'<pattern id="series-pattern-{n}"' in page
    assert page.count('<svg class="chart-patterns"') == 1  # ids once per page
    # On a phone the stacked bars give way to a list that says the shares in words.
    phone = page.split('<ul class="chart-list chart-narrow"')[1].split("</figure>")[0]
    assert "Health <strong>75%</strong>" in phone and "Police <strong>25%</strong>" in phone
    # ... and the bars of one event to names above their bars, in a 320-unit layout.
    assert '<svg viewBox="0 0 320' in client.get(f"/manage/stats/events/{event.id}").text
    assert " style=" not in page


# ----------------------------------------------------------------------------- across events


def test_filters_by_kind_dates_series_network_and_board_year(app, make, sectors):
    network = make.network(name="LSCB Chairs")
    march = make.event(title="March seminar", starts_at=past(date(2008, 3, 31), 23))
    april = make.event(
        title="April seminar", starts_at=past(date(2008, 4, 1)), series="CSA seminars"
    )
    conference = make.event(
        title="Conference",
        kind=EventKind.conference,
        starts_at=past(date(2008, 12, 12)),
        host_network=network,
    )
    for event in (march, april, conference):
        add_bookings(event, sectors["Health"], 1, attended=True)

    def titles(**kw):
        return [row.label.split(" · ")[1] for row in service.events_table(Filters(**kw)).rows]

    assert titles() == ["March seminar", "April seminar", "Conference"]
    assert titles(kind=EventKind.conference) == ["Conference"]
    assert titles(series="CSA seminars") == ["April seminar"]
    assert titles(network_id=network.id) == ["Conference"]
    # London dates: 11pm on 31 March BST is still March in London, and in Board year 2007/08.
    assert titles(board_year=2007) == ["March seminar"]
    assert titles(board_year=2008) == ["April seminar", "Conference"]
    assert titles(date_from=date(2008, 4, 1), date_to=date(2008, 4, 1)) == ["April seminar"]


def test_totals_add_up_over_events_and_board_years(app, make, sectors):
    first = make.event(starts_at=past(date(2008, 2, 21)))
    second = make.event(starts_at=past(date(2008, 7, 10)))
    add_bookings(first, sectors["Health"], 2, attended=True)
    add_bookings(first, sectors["Police"], 1, attended=True)
    add_bookings(second, sectors["Health"], 1, attended=True)
    add_bookings(second, sectors["Health"], 5)  # no-shows are not attendance

    table = service.events_table(Filters())
    assert table.totals.counts[:2] == (3, 1) and table.totals.total == 4
    assert table.totals.percents[:2] == (75, 25)

    years = service.board_years_table(table, Filters())
    assert [(row.label, row.total) for row in years.rows] == [("2007/08", 3), ("2008/09", 1)]

    booked = service.events_table(Filters(measure="confirmed"))
    assert booked.totals.total == 9


def test_stats_page_lists_events_and_filters(client, login, make, sectors):
    login()
    seminar = make.event(title="Teenage relationships", starts_at=past(date(2006, 10, 5)))
    make.event(
        title="Annual conference", kind=EventKind.conference, starts_at=past(date(2006, 12, 15))
    )
    add_bookings(seminar, sectors["Police"], 4, attended=True)

    page = client.get("/manage/stats/").text
    assert "Teenage relationships" in page and "Annual conference" in page
    assert "Probation" in page  # a sector with nobody still has its column

    filtered = client.get("/manage/stats/?kind=seminar").text
    assert "Event by event" in filtered
    section = filtered.split('id="events-title"')[1].split('id="years-title"')[0]
    assert "Teenage relationships" in section and "Annual conference" not in section

    bad = client.get("/manage/stats/?date_from=2008-05-01&date_to=2008-01-01")
    assert bad.status_code == 400 and "on or after the start date" in bad.text


def test_templates_keep_jinjas_own_count_filter(app):
    from flask import render_template_string

    with app.test_request_context():
        rendered = render_template_string(
            "{{ 'abc' | count }} {{ none | figure }} {{ 7 | figure }}"
        )
    assert rendered == "3 — 7"


def test_stats_pages_need_an_organiser(client, make):
    event = make.event()
    for url in ("/manage/stats/", f"/manage/stats/events/{event.id}", "/manage/stats/events.csv"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


# ----------------------------------------------------------------------------- recorded figures


def test_recorded_figures_are_shown_apart_and_never_added(client, login, make, sectors):
    login()
    conf_2005 = make.event(
        title="Safeguarding London's Children 2005",
        kind=EventKind.conference,
        starts_at=past(date(2005, 12, 1)),
    )
    conf_2006 = make.event(
        title="Safeguarding London's Children 2006",
        kind=EventKind.conference,
        starts_at=past(date(2006, 12, 15)),
    )
    add_bookings(conf_2006, sectors["Health"], 3, attended=True)
    add_bookings(conf_2006, sectors["Police"], 1, attended=True)

    form = {
        "basis": "percentages",
        "source": "Manager's progress report, 19 July 2006",
        "total": "",
        f"sector_{sectors['Health'].id}": "20",
        f"sector_{sectors['Police'].id}": "12",
        f"sector_{sectors['Social care'].id}": "33",
        f"sector_{sectors['Education'].id}": "9",
        f"sector_{sectors['Probation'].id}": "2",
    }
    response = client.post(f"/manage/stats/events/{conf_2005.id}/recorded", data=form)
    assert response.status_code == 302

    conference = service.conference_table()
    recorded = [row for row in conference.rows if row.recorded]
    assert len(recorded) == 1 and recorded[0].label.startswith("2005")
    assert recorded[0].percents == (20, 12, 33, 9, 2) and recorded[0].not_given == 24
    assert recorded[0].counts == (None,) * 5  # no total given: numbers are not invented

    events = service.events_table(Filters())
    assert events.totals.total == 4  # the recorded conference adds nothing to counted totals

    page = client.get("/manage/stats/").text
    assert "Recorded" in page and "Manager&#39;s progress report, 19 July 2006" in page
    assert "Not given" in page and "worked out" not in page


def test_recorded_percentages_with_a_total_give_numbers(app, make, sectors):
    event = make.event(starts_at=past(date(2007, 6, 1)))
    service.save_recorded_figures(
        event.id,
        service.FigureBasis.percentages,
        {sectors["Health"].id: 50, sectors["Police"].id: 50},
        200,
        "Sign-in sheet",
    )
    row = service.event_breakdown(event.id).recorded
    assert row.counts[:2] == (100, 100) and row.total == 200 and row.not_given is None


def test_numbers_worked_out_from_percentages_add_up_and_say_so(client, login, make, sectors):
    login()
    event = make.event(title="Workshop", starts_at=past(date(2007, 6, 1)))
    thirds = {sectors[name].id: 33.3 for name in ("Health", "Police", "Social care")}
    service.save_recorded_figures(
        event.id, service.FigureBasis.percentages, thirds, 10, "Sign-in sheet"
    )

    row = service.event_breakdown(event.id).recorded
    # Rounded one by one, 3.33 x 3 would make 9 people out of 10.
    assert row.counts[:4] == (4, 3, 3, None)
    assert sum(row.counts[:3]) + row.not_given_count == row.total == 10

    page = client.get(f"/manage/stats/events/{event.id}").text
    assert "Number (worked out, not recorded)" in page
    assert "worked out from them and shared out by largest remainder" in page
    overview = client.get("/manage/stats/").text
    assert "Numbers worked out from the percentages and the total, not recorded" in overview
    lines = client.get(f"/manage/stats/events/{event.id}.csv").text.splitlines()
    assert 'Sector,"Number (worked out, not recorded)",%' in lines
    data = client.get("/manage/stats/events.json").json
    recorded = next(r for r in data["rows"] if r["figures"] == "recorded")
    assert recorded["counts_worked_out"] is True
    assert "numbers worked out" in recorded["basis"]


def test_recorded_counts_and_form_errors(client, login, make, sectors):
    login()
    event = make.event(starts_at=past(date(2007, 6, 1)))
    url = f"/manage/stats/events/{event.id}/recorded"
    too_much = {
        "basis": "percentages",
        "source": "Report",
        f"sector_{sectors['Health'].id}": "60",
        f"sector_{sectors['Police'].id}": "50",
    }
    response = client.post(url, data=too_much)
    assert response.status_code == 422 and "add up to more than 100%" in response.text

    counts = {
        "basis": "counts",
        "source": "Sign-in sheet, walk-ins included",
        "total": "10",
        f"sector_{sectors['Health'].id}": "6",
        f"sector_{sectors['Police'].id}": "3",
    }
    assert client.post(url, data=counts).status_code == 302
    row = service.event_breakdown(event.id).recorded
    assert row.counts[:3] == (6, 3, None) and row.percents[:2] == (60, 30)
    assert row.not_given == 10

    # Saving again replaces the figures rather than adding a second set.
    assert client.post(url, data={**counts, "total": "9"}).status_code == 302
    assert db.session.scalar(select(func.count(RecordedFigures.id))) == 1

    client.post(f"/manage/stats/events/{event.id}/recorded/delete")
    assert service.event_breakdown(event.id).recorded is None


# ----------------------------------------------------------------------------- charts


def test_sector_bars_are_as_long_as_their_counts(app, sectors):
    health, police, social_care, education = list(sectors.values())[:4]
    chart = service.sector_bars(
        [health, police, social_care, education], [4, 2, 0, None], [67, 33, 0, None]
    )

    assert [(bar.name, bar.width) for bar in chart.bars] == [
        ("Health", 320),  # the largest count fills the room left of the figures
        ("Police", 160),
        ("Social care", 0),
        ("Education", 0),
    ]
    assert [bar.y for bar in chart.bars] == [12, 50, 88, 126]
    assert chart.height == 4 * 38 + 12
    assert chart.bars[0].text_x == 210 + 320 + 6  # the figure follows its bar


def test_stacked_bars_share_out_the_width_and_say_what_is_not_given(app, sectors):
    health, police, social_care = list(sectors.values())[:3]
    counted = service.Row("2006", (19, 1, 0), (95, 5, 0), 20)
    recorded = service.Row("2005", (None,) * 3, (20, 12, None), None, recorded=True, not_given=68)
    nothing = service.Row("2009", (0, 0, 0), (0, 0, 0), 0)
    table = service.Table(
        "conference", "Conference", [health, police, social_care], [counted, recorded, nothing], ""
    )

    chart = service.stacked_bars(table)

    first, second, third = chart.rows
    assert [(bar.name, bar.x, bar.width, bar.text_fits) for bar in first.bars] == [
        ("Health", 0, 608, True),
        ("Police", 608, 32, False),  # too narrow to write 5% inside
    ]
    assert [(bar.name, bar.x, bar.width, bar.colour) for bar in second.bars] == [
        ("Health", 0, 128, 0),
        ("Police", 128, 76.8, 1),
        ("Not given", 204.8, 435.2, None),
    ]
    assert second.recorded and chart.has_not_given
    assert third.bars == [] and third.empty.width == 640  # "No figures yet"
    assert [row.label_y for row in chart.rows] == [20, 80, 140]
    assert chart.legend == [("Health", 0), ("Police", 1), ("Social care", 2)]


# ----------------------------------------------------------------------------- in a browser

# Debian's Chromium behind a real server, as tests/test_browser.py sets them up (skipped
# without the browser, failed without it under CI=true).
site = browser_setup.site
browser = browser_setup.browser

# Each chart text drawn on the screen (SVG text scaled with its SVG, list text as it is), with
# its rendered size in CSS pixels.
_DRAWN_TEXT_SIZES = """
return [...document.querySelectorAll('.chart text, .chart li, .chart p')]
  .filter(e => e.getClientRects().length && e.textContent.trim())
  .map(e => [e.textContent.trim().slice(0, 30),
             parseFloat(getComputedStyle(e).fontSize) * (e.getScreenCTM ? e.getScreenCTM().a : 1)]);
"""


def _viewport(driver, width: int) -> None:
    """A real ``width`` px viewport: headless Chromium's windows are at least 500 px wide."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 844, "deviceScaleFactor": 1, "mobile": width < 500},
    )


def test_charts_read_on_a_phone_and_tables_fit_a_desktop(site, browser):
    from selenium.webdriver.common.keys import Keys

    from bookings.demo.loader import SECTORS

    base, make = site
    sectors = [make.sector(name, position=i) for i, name in enumerate(SECTORS)]
    held = make.event(
        title="Safeguarding London's Children",
        kind=EventKind.conference,
        starts_at=past(date(2008, 12, 12)),
    )
    for i, sector in enumerate(sectors):
        add_bookings(held, sector, 3 + 4 * i, attended=True)
    make.event(title="Neglect seminar")  # not yet held
    make.organiser()
    browser.get(f"{base}/login")
    browser.find_element("id", "email").send_keys("organiser@example.org")
    with next_page(browser):
        browser.find_element("id", "password").send_keys("correct horse battery", Keys.ENTER)
    browser.find_element("css selector", ".console-nav")

    _viewport(browser, 390)
    for url in ("/manage/stats/", f"/manage/stats/events/{held.id}"):
        browser.get(base + url)
        width = browser.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert width == [390, 390], (url, "the page scrolls sideways on a phone")
        drawn = browser.execute_script(_DRAWN_TEXT_SIZES)
        assert len(drawn) > len(sectors), url  # the chart's labels are on the screen
        small = [(text, round(size, 1)) for text, size in drawn if size < 12]
        assert small == [], (url, "chart labels under 12 px at 390 px wide")
        if url == "/manage/stats/":
            # The stacked bars are a list of the same shares here.
            assert not browser.find_element("css selector", "svg.chart-wide").is_displayed()
            shares = browser.find_element("css selector", ".chart-list").text
            assert "Health" in shares and "Not yet held" in shares

    _viewport(browser, 1280)
    browser.get(f"{base}/manage/stats/")
    assert browser.find_element("css selector", ".chart svg.chart-wide").is_displayed()
    regions = browser.execute_script(
        "return [...document.querySelectorAll('.stats-scroll')]"
        ".map(e => [e.getAttribute('aria-label'), e.scrollWidth, e.clientWidth])"
    )
    assert regions and all(scroll <= seen for _, scroll, seen in regions), regions


# ----------------------------------------------------------------------------- downloads


def test_downloads_carry_the_page_tables(client, login, make, sectors):
    login()
    event = make.event(title="CSA seminar", starts_at=past(date(2008, 4, 9)))
    add_bookings(event, sectors["Health"], 3, attended=True)
    add_bookings(event, sectors["Police"], 1, attended=True)

    response = client.get("/manage/stats/events.csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0]["Health (number)"] == "3" and rows[0]["Health (%)"] == "75"
    assert rows[-1]["Row"] == "Total for these events (counted)" and rows[-1]["Total"] == "4"

    data = client.get("/manage/stats/board-years.json").json
    assert data["rows"][0]["label"] == "2008/09"
    assert data["rows"][0]["sectors"]["Police"] == {"count": 1, "percent": 25}

    assert client.get("/manage/stats/conference.csv").status_code == 200
    event_json = client.get(f"/manage/stats/events/{event.id}.json").json
    assert event_json["totals"]["attended"] == 4
    assert "Social care" in event_json["not_represented"]
    event_csv = client.get(f"/manage/stats/events/{event.id}.csv").text
    assert event_csv.splitlines()[1].startswith("Health,3,75,3,75")


def test_stats_csvs_open_in_excel_with_their_accents(client, login, make):
    """The byte-order mark the delegate list has too: without it Excel shows "ZoÃ«"."""
    login()
    sector = make.sector("Éducation (écoles)")
    event = make.event(title="Séminaire", starts_at=past(date(2008, 4, 9)))
    add_bookings(event, sector, 2, attended=True)

    for url in (
        "/manage/stats/events.csv",
        "/manage/stats/board-years.csv",
        "/manage/stats/conference.csv",
        f"/manage/stats/events/{event.id}.csv",
    ):
        raw = client.get(url).data
        assert raw.startswith(b"\xef\xbb\xbf"), url
        assert not raw[3:].startswith(b"\xef\xbb\xbf"), url  # once, not twice
    text = client.get("/manage/stats/events.csv").data.decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(text)))
    assert header[0] == "Row" and "Éducation (écoles) (number)" in header
    event_text = client.get(f"/manage/stats/events/{event.id}.csv").data.decode("utf-8-sig")
    assert event_text.startswith("Sector,") and "Éducation (écoles),2," in event_text


def test_csv_cells_cannot_run_as_formulas(app, make, sectors):
    from bookings.stats.export import table_csv

    event = make.event(title="Seminar", starts_at=past(date(2008, 4, 9)))
    add_bookings(event, sectors["Health"], 1, attended=True)
    service.save_recorded_figures(
        event.id, service.FigureBasis.counts, {sectors["Health"].id: 1}, None, "=cmd|' /C calc'!A0"
    )
    text = table_csv(service.events_table(Filters()))
    assert "'=cmd" in text and ",=cmd" not in text


# ----------------------------------------------------------------------------- query counts


def test_stats_pages_cost_the_same_queries_however_many_events(
    client, login, make, sectors, count_queries
):
    login()
    network = make.network()

    def add_events(n: int, year: int):
        for i in range(n):
            event = make.event(
                kind=EventKind.conference if i % 3 == 0 else EventKind.seminar,
                starts_at=past(date(year, 5, 1) + timedelta(days=i)),
                host_network=network,
                series="Series" if i % 2 else None,
            )
            add_bookings(event, sectors["Health"], 2, attended=True)
            add_bookings(event, sectors["Police"], 1, BookingStatus.cancelled)
            service.save_recorded_figures(
                event.id, service.FigureBasis.counts, {sectors["Education"].id: 4}, None, "Sheet"
            )
        return event

    first = add_events(2, 2006)
    first_url = f"/manage/stats/events/{first.id}"
    client.get("/manage/stats/")  # warm caches
    with count_queries() as few:
        assert client.get("/manage/stats/").status_code == 200
    with count_queries() as few_event:
        client.get(first_url)

    last = add_events(12, 2008)
    add_bookings(last, sectors["Probation"], 30, attended=True)
    last_url = f"/manage/stats/events/{last.id}"
    client.get("/manage/stats/")
    with count_queries() as many:
        assert client.get("/manage/stats/").status_code == 200
    with count_queries() as many_event:
        client.get(last_url)
    with count_queries() as download:
        client.get("/manage/stats/events.json?measure=confirmed")

    assert len(many) == len(few)
    assert len(many_event) == len(few_event)
    assert len(download) <= len(many)


# ----------------------------------------------------------------------------- the purge


def _snapshot(client, event_ids):
    pages = [
        client.get(f"/manage/stats/{t}.json").json for t in ("events", "board-years", "conference")
    ]
    pages += [client.get(f"/manage/stats/events/{i}.json").json for i in event_ids]
    return pages


def test_purge_keeps_statistics_and_removes_personal_data(client, login, make, sectors, caplog):
    from bookings.privacy import service as privacy

    login()
    old = make.event(starts_at=past(date(2006, 12, 15)), kind=EventKind.conference)
    upcoming = make.event()
    add_bookings(old, sectors["Health"], 3, attended=True)
    add_bookings(old, sectors["Police"], 2)
    add_bookings(old, sectors["Education"], 1, BookingStatus.cancelled)
    add_bookings(old, sectors["Health"], 1, BookingStatus.waitlisted)
    future = add_bookings(upcoming, sectors["Police"], 2)
    old_booking = db.session.scalar(select(Booking).where(Booking.event_id == old.id).limit(1))
    db.session.add_all(
        [
            OutboxMessage(
                booking_id=old_booking.id,
                kind="confirmed",
                recipient=old_booking.email,
            ),
            OutboxMessage(
                booking_id=future[0].id,
                kind="confirmed",
                recipient=future[0].email,
            ),
        ]
    )
    db.session.commit()
    references = set(db.session.scalars(select(Booking.reference)))
    before = _snapshot(client, [old.id, upcoming.id])

    with caplog.at_level("INFO", logger="bookings.privacy"):
        result = privacy.purge(london_date(utcnow()))

    assert (result.bookings, result.events, result.messages) == (7, 1, 1)
    assert "7 bookings at 1 events purged, 1 outbox messages deleted" in caplog.text
    assert "Delegate" not in caplog.text and "@example.org" not in caplog.text
    assert _snapshot(client, [old.id, upcoming.id]) == before
    purged = list(db.session.scalars(select(Booking).where(Booking.event_id == old.id)))
    for booking in purged:
        assert booking.purged_at is not None
        assert booking.name == "Purged delegate"
        assert "delegate" not in booking.email_key and booking.email == ""
        assert booking.organisation == booking.job_title == ""
        assert booking.dietary_needs == booking.access_needs == ""
        assert booking.reference == f"P{booking.id}" and booking.reference not in references
    assert {b.status for b in purged} == set(BookingStatus)
    kept = db.session.scalars(select(Booking).where(Booking.event_id == upcoming.id)).all()
    assert all(b.purged_at is None and b.name.startswith("Delegate") for b in kept)
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 1

    # Running it again finds nothing left to purge.
    assert privacy.purge(london_date(utcnow())).bookings == 0


def test_purge_keeps_evaluation_answers_and_certificate_numbers_but_no_name(app, make, sectors):
    from bookings.certificates import service as certificates
    from bookings.certificates.models import Certificate
    from bookings.evaluation import service as evaluation
    from bookings.evaluation.models import EvaluationAnswer
    from bookings.privacy import service as privacy

    old = make.event(starts_at=past(date(2006, 12, 15)), title="Working with fathers")
    made = add_bookings(old, sectors["Probation"], 5, attended=True)
    # The event is long over: the evaluation's answers go in as if before it closed.
    during = old.ends_at + timedelta(days=1)
    for booking in made:
        evaluation.submit(
            booking.id,
            [evaluation.Answer(rating=4)] * 4
            + [evaluation.Answer(text="Ask the child first", may_quote=True)],
            now=during,
        )
    issued = certificates.issue(made[0].id)
    certificates.set_show_name(made[0].id, True)
    before = evaluation.results(old)

    privacy.purge(date(2007, 1, 1))
    db.session.expire_all()

    after = evaluation.results(old)
    assert after.responses == 5 and [row.name for row in after.sectors] == ["Probation"]
    assert after.distributions[0].counts == before.distributions[0].counts
    assert after.quotes[0][1] == ["Ask the child first"] * 5
    assert db.session.scalar(select(func.count(EvaluationAnswer.id))) == 25
    certificate = db.session.scalar(select(Certificate))
    assert certificate.number == issued.number
    assert (certificate.issued_name, certificate.show_name) == ("", False)
    verified = certificates.verification(issued.number)
    assert verified.event_title == "Working with fathers" and verified.name is None
    assert all(db.session.get(Booking, b.id).name == privacy.PURGED_NAME for b in made)


def test_purge_keeps_link_reminders_of_delegates_still_booked(app, make, sectors):
    from bookings.privacy import service as privacy

    old = make.event(starts_at=past(date(2006, 12, 15)))
    upcoming = make.event()
    staying, leaving = add_bookings(old, sectors["Health"], 2)
    later = add_bookings(upcoming, sectors["Health"])[0]
    address = later.email = later.email_key = staying.email
    db.session.add_all(
        [
            OutboxMessage(
                kind="links",
                recipient=address.upper(),
                created_at=past(date(2006, 12, 1)),
            )
            for address in (staying.email, leaving.email)
        ]
    )
    db.session.commit()

    assert privacy.preview(date(2007, 1, 1)).messages == 1
    assert privacy.purge(date(2007, 1, 1)).messages == 1

    left = db.session.scalars(select(OutboxMessage.recipient)).all()
    assert left == [address.upper()]


def test_purge_is_audited_and_logged(client, login, make, sectors, caplog):
    from bookings.accounts.models import AuditEntry

    event = make.event(starts_at=past(date(2006, 12, 15)))
    add_bookings(event, sectors["Health"], 2, attended=True)
    login(email="admin@example.org", role=Role.admin)

    with caplog.at_level("INFO", logger="bookings.privacy"):
        client.post("/manage/stats/privacy", data={"before": "2007-01-01", "confirm": "y"})

    assert "privacy purge before 2007-01-01 by admin@example.org: 2 bookings" in caplog.text
    log_page = client.get("/manage/admin/audit").text
    assert (
        "Purged personal data from 2 bookings at 1 events that ended before Monday 1 January 2007"
        in (log_page)
    )
    assert "admin@example.org" in log_page and "privacy.purge" in log_page

    cli = client.application.test_cli_runner()
    result = cli.invoke(args=["privacy", "purge", "--before", "2007-01-01"])
    assert result.exit_code == 0, result.output
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.action == "privacy.purge" and entry.user_email == ""
    assert "Purged personal data from 0 bookings" in entry.summary
    assert "(command line, as " in entry.summary


def test_purge_removes_the_mail_copies_written_without_a_mail_server(app, make, sectors):
    from bookings.mail import sender
    from bookings.privacy import service as privacy

    old = make.event(starts_at=past(date(2006, 12, 15)))
    (booking,) = add_bookings(old, sectors["Health"])
    db.session.add(
        OutboxMessage(
            booking_id=booking.id,
            kind="confirmed",
            recipient=booking.email,
        )
    )
    db.session.commit()
    assert sender.send_due().sent == 1
    folder = Path(app.instance_path) / "mail"
    assert [p.name.endswith("-confirmed.eml") for p in folder.iterdir()] == [True]

    privacy.purge(london_date(utcnow()))
    assert list(folder.iterdir()) == []


def test_a_purge_that_fails_leaves_every_booking_as_it_was(app, make, sectors, monkeypatch):
    from bookings.accounts import service as accounts
    from bookings.accounts.models import AuditEntry
    from bookings.privacy import service as privacy

    event = make.event(starts_at=past(date(2006, 12, 15)))
    add_bookings(event, sectors["Health"], 2, attended=True)

    def audit_fails(*_args, **_kwargs):
        raise RuntimeError("the audit log is unavailable")

    monkeypatch.setattr(accounts, "audit", audit_fails)
    with pytest.raises(RuntimeError):
        privacy.purge(date(2007, 1, 1))

    db.session.expire_all()
    names = db.session.scalars(select(Booking.name).where(Booking.event_id == event.id)).all()
    assert len(names) == 2 and all(name.startswith("Delegate") for name in names)
    assert db.session.scalar(select(func.count(AuditEntry.id))) == 0
    assert privacy.preview(date(2007, 1, 1)).bookings == 2


def test_purge_command(app, make, sectors):
    event = make.event(starts_at=past(date(2006, 12, 15)))
    add_bookings(event, sectors["Health"], 2, attended=True)
    runner = app.test_cli_runner()

    dry = runner.invoke(args=["privacy", "purge", "--before", "2007-01-01", "--dry-run"])
    assert "Would purge 2 bookings at 1 events" in dry.output
    assert (
        db.session.scalar(select(func.count(Booking.id)).where(Booking.purged_at.is_not(None))) == 0
    )

    early = runner.invoke(args=["privacy", "purge", "--before", "2006-12-15"])
    assert "Purged 0 bookings" in early.output

    result = runner.invoke(args=["privacy", "purge", "--before", "2007-01-01"])
    assert result.exit_code == 0, result.output
    assert "Purged 2 bookings at 1 events" in result.output
    db.session.expire_all()
    assert (
        db.session.scalar(select(func.count(Booking.id)).where(Booking.purged_at.is_not(None))) == 2
    )


def test_purge_page_is_for_admins_only(client, login, make, sectors):
    event = make.event(starts_at=past(date(2006, 12, 15)))
    add_bookings(event, sectors["Health"], 2, attended=True)
    login()
    assert client.get("/manage/stats/privacy").status_code == 403
    client.post("/logout")

    login(email="admin@example.org", role=Role.admin)
    page = client.get("/manage/stats/privacy?before=2007-01-01").text
    assert "2 bookings at 1 events still hold personal data" in page

    refused = client.post("/manage/stats/privacy", data={"before": "2007-01-01"})
    assert refused.status_code == 422 and "Tick the box" in refused.text

    done = client.post(
        "/manage/stats/privacy",
        data={"before": "2007-01-01", "confirm": "y"},
        follow_redirects=True,
    )
    assert "Purged 2 bookings at 1 events" in done.text
    assert (
        db.session.scalar(select(func.count(Booking.id)).where(Booking.name == "Purged delegate"))
        == 2
    )


# ----------------------------------------------------------------------------- demo


def test_demo_statistics(app, make):
    from bookings.demo.delegates import load_demo_statistics

    past_event = make.event(starts_at=past(date(2008, 2, 21)), capacity=100)
    upcoming = make.event()

    summary = load_demo_statistics()

    assert summary["recorded figure sets"] == 1 and summary["past events with demo delegates"] == 1
    bookings = db.session.scalars(select(Booking).where(Booking.event_id == past_event.id)).all()
    confirmed = [b for b in bookings if b.status == BookingStatus.confirmed]
    assert 50 <= len(confirmed) <= 100
    assert all(
        b.email.endswith("@example.org") and b.name.startswith("Demo delegate") for b in bookings
    )
    attended = sum(1 for b in bookings if b.attended_at is not None)
    assert 0.6 < attended / len(confirmed) < 0.98
    assert not db.session.scalars(select(Booking).where(Booking.event_id == upcoming.id)).all()

    conference = service.conference_table()
    reported = [row for row in conference.rows if row.recorded]
    assert reported and reported[0].label.startswith("2005")
    assert sorted(p for p in reported[0].percents if p) == [2, 9, 12, 20, 33]

    again = load_demo_statistics()
    assert again["demo delegates"] == 0 and again["recorded figure sets"] == 0


def test_demo_waiting_lists_only_where_the_event_was_full(app, make):
    from bookings.demo.delegates import load_demo_statistics

    events = [
        make.event(starts_at=past(date(2008, 1, 10) + timedelta(weeks=i)), capacity=20)
        for i in range(12)
    ]

    load_demo_statistics()

    waiting = 0
    for event in events:
        b = service.event_breakdown(event.id)
        bookings = db.session.scalars(select(Booking).where(Booking.event_id == event.id)).all()
        confirmed = [x for x in bookings if x.status == BookingStatus.confirmed]
        waitlisted = [x for x in bookings if x.status == BookingStatus.waitlisted]
        assert b.totals.confirmed == len(confirmed) <= event.capacity
        assert b.totals.waitlisted == len(waitlisted)
        if waitlisted:
            waiting += 1
            assert len(confirmed) == event.capacity and len(waitlisted) <= 6
            # They joined once the event was full, after every booking and cancellation.
            last_change = max(
                x.cancelled_at or x.confirmed_at for x in bookings if x not in waitlisted
            )
            assert all(x.queued_at > last_change for x in waitlisted)
            assert all(x.confirmed_at is None and x.attended_at is None for x in waitlisted)
    assert 0 < waiting < len(events)
