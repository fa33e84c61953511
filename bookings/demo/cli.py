"""``flask --app bookings demo [--if-empty | --replace]``: load the demo data."""

from __future__ import annotations

import click


@click.command("demo")
@click.option("--replace", is_flag=True, help="Delete all existing data first.")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) if there is data.")
def demo_command(replace: bool, if_empty: bool) -> None:
    """Load the demo data taken from the Board's reports."""
    # Imported when run, so that starting the app never reads the data file.
    from bookings.demo import loader

    if not loader.database_is_empty():
        if if_empty:
            click.echo("The database already has data; demo not loaded.")
            return
        if not replace:
            raise click.ClickException(
                "The database is not empty. Use --replace to delete everything and reload the demo."
            )
        loader.clear()
    summary = loader.load()
    click.echo("Demo data loaded: " + ", ".join(f"{n} {what}" for what, n in summary.items()))
