"""``flask --app bookings ...`` commands: demo data, organisers, mail, privacy."""

from __future__ import annotations

import sys

import click
from flask import Flask

from bookings.accounts.models import Role
from bookings.demo.cli import demo_command
from bookings.mail.cli import mail_group
from bookings.privacy.cli import privacy_group


def init_app(app: Flask) -> None:
    app.cli.add_command(demo_command)
    app.cli.add_command(organiser_group)
    app.cli.add_command(mail_group)
    app.cli.add_command(privacy_group)


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
