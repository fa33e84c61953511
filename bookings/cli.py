"""``flask --app bookings ...`` commands: demo data, organisers, mail."""

from __future__ import annotations

import sys

import click
from flask import Flask

from bookings.accounts.models import Role
from bookings.mail.cli import mail_group
from bookings.stats.cli import privacy_group


def init_app(app: Flask) -> None:
    app.cli.add_command(demo_command)
    app.cli.add_command(organiser_group)
    app.cli.add_command(mail_group)
    app.cli.add_command(privacy_group)


@click.command("demo")
@click.option("--replace", is_flag=True, help="Delete all existing data first.")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) if there is data.")
def demo_command(replace: bool, if_empty: bool) -> None:
    """Load the demo data taken from the Board's reports."""
    from bookings import demo

    if not demo.database_is_empty():
        if if_empty:
            click.echo("The database already has data; demo not loaded.")
            return
        if not replace:
            raise click.ClickException(
                "The database is not empty. Use --replace to delete everything and reload the demo."
            )
        demo.clear()
    summary = demo.load()
    click.echo("Demo data loaded: " + ", ".join(f"{n} {what}" for what, n in summary.items()))


@click.group("organiser")
def organiser_group() -> None:
    """Manage organiser accounts."""


@organiser_group.command("create")
@click.argument("email")
@click.option("--name", default="", help="Display name.")
@click.option("--admin", is_flag=True, help="Give the admin role.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_organiser(email: str, name: str, admin: bool, password_stdin: bool) -> None:
    """Create an organiser account; the password is asked for, never given as an argument."""
    from bookings.accounts import service

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = service.create_organiser(
            email, password, name=name, role=Role.admin if admin else Role.organiser
        )
    except service.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {user.role.value} {user.email}.")
