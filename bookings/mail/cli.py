"""``flask --app bookings mail send [--watch]`` and ``mail status``: the outbox from the console.

Output names messages by number and kind only, never by recipient.
"""

from __future__ import annotations

import signal
import threading
from datetime import datetime

import click

from bookings.db import utcnow
from bookings.london import format_stamp


@click.group("mail")
def mail_group() -> None:
    """Deliver the e-mail outbox and see what is queued."""


def _when(value: datetime | None) -> str:
    return format_stamp(value) or "-"


def _summary(report) -> str:
    parts = [f"{report.sent} sent", f"{report.failed} failed"]
    if report.released:
        parts.append(f"{report.released} put back untried (the batch outran its claim)")
    if report.withdrawn:
        parts.append(f"{report.withdrawn} withdrawn (no longer sendable)")
    if report.deferred:
        parts.append(f"{report.deferred} put back (their event moved)")
    return ", ".join(parts)


@mail_group.command("send")
@click.option("--watch", is_flag=True, help="Keep sending until interrupted (Ctrl-C or SIGTERM).")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.2),
    default=5.0,
    show_default=True,
    help="Seconds between rounds with --watch.",
)
@click.option(
    "--retry",
    is_flag=True,
    help="First make failed messages due now instead of waiting for their back-off.",
)
def send_command(watch: bool, interval: float, retry: bool) -> None:
    """Send the e-mail that is due, then exit (exit status 1 if any delivery failed).

    With no MAIL_SERVER configured, messages are written to instance/mail/ as .eml files.
    """
    from bookings.mail import sender

    if retry:
        click.echo(f"{sender.retry_now()} failed message(s) made due now.")
    if not watch:
        report = sender.send_all_due()
        click.echo(f"Mail: {_summary(report)}.")
        for error in sorted(set(report.errors)):
            click.echo(f"  error: {error}", err=True)
        if report.failed:
            raise SystemExit(1)
        return
    _watch(sender, interval)


def _watch(sender, interval: float) -> None:
    from bookings.db import db

    stop = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    click.echo(f"Sending mail every {interval:g}s; press Ctrl-C to stop.")
    try:
        while not stop.is_set():
            try:
                report = sender.send_all_due()
            except Exception as exc:
                # The database may be restarting; say so and try again next round.
                click.echo(f"{_when(utcnow())} mail: {sender.describe_error(exc)}", err=True)
                db.session.remove()
            else:
                if report.attempted:
                    click.echo(f"{_when(utcnow())} mail: {_summary(report)}")
            stop.wait(interval)
    except KeyboardInterrupt:
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    click.echo("Stopped.")


@mail_group.command("status")
def status_command() -> None:
    """Show how many messages are queued, failing and sent (no personal data)."""
    from bookings.mail import sender

    state = sender.status()
    click.echo(f"Queued:  {state.queued} (due now: {state.due})")
    click.echo(f"Failing: {state.failing} (retried with back-off)")
    click.echo(f"Sent:    {state.sent} (last {_when(state.last_sent)})")
    if state.withdrawn:
        click.echo(f"Withdrawn: {state.withdrawn} (their bookings were purged; never sent)")
    if state.oldest_unsent is not None:
        click.echo(f"Oldest unsent message queued {_when(state.oldest_unsent)} (London time).")
    if state.failures:
        click.echo("Failing messages:")
        for item in state.failures:
            click.echo(
                f"  #{item.id} {item.kind}: {item.attempts} attempt(s), "
                f"next {_when(item.next_attempt_at)}: {item.last_error}"
            )
