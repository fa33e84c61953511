"""``flask --app bookings privacy purge --before YYYY-MM-DD``."""

from __future__ import annotations

import getpass
from datetime import date, datetime

import click

from bookings.london import format_date
from bookings.privacy import service


def _os_user() -> str:
    """Who ran the command, for the audit log: no organiser is signed in on the command line."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "an unknown user"


@click.group("privacy")
def privacy_group() -> None:
    """Delegates' personal data."""


@privacy_group.command("purge")
@click.option(
    "--before",
    "before",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Purge bookings of events that ended before this date (London time).",
)
@click.option("--dry-run", is_flag=True, help="Only say how many bookings would be purged.")
def purge_command(before: datetime, dry_run: bool) -> None:
    """Replace delegates' personal data with nothing identifying; sector statistics stay exact."""
    day: date = before.date()
    if dry_run:
        result = service.preview(day)
        click.echo(
            f"Would purge {result.bookings} bookings at {result.events} events that ended "
            f"before {format_date(day)}, and delete {result.messages} outbox messages."
        )
        return
    result = service.purge(day, ran_from=f"command line, as {_os_user()}")
    click.echo(
        f"Purged {result.bookings} bookings at {result.events} events that ended before "
        f"{format_date(day)}; deleted {result.messages} outbox messages."
    )
