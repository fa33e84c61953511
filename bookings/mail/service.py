"""What features use of mail: queue a message in the change's transaction, register the
renderer that words a kind when it is due (and, optionally, the preloader that reads what it
needs for a whole batch), remove the written copies of purged messages, and
queue many at once that go at most once each (``queue_selected``), and
the one reading of the sender's address (the calendars' ORGANIZER uses it too).

The rest of the package (``outbox`` claims and back-off, ``messages``, ``transport``,
``sender``) is mail's own business.
"""

from bookings.mail.messages import Rendered, SenderAddress, from_templates
from bookings.mail.outbox import (
    NotSendable,
    NotYet,
    batch_memo,
    every_round,
    once_queued,
    preloader,
    queue,
    queue_selected,
    renderer,
    sending_time,
)
from bookings.mail.transport import remove_written

__all__ = [
    "NotSendable",
    "NotYet",
    "Rendered",
    "SenderAddress",
    "batch_memo",
    "every_round",
    "from_templates",
    "once_queued",
    "preloader",
    "queue",
    "queue_selected",
    "remove_written",
    "renderer",
    "sending_time",
]
