"""What features use of mail: queue a message in the change's transaction, register the
renderer that words a kind when it is due, remove the written copies of purged messages, and
the one reading of the sender's address (the calendars' ORGANIZER uses it too).

The rest of the package (``outbox`` claims and back-off, ``messages``, ``transport``,
``sender``) is mail's own business.
"""

from bookings.mail.messages import Rendered, SenderAddress, from_templates
from bookings.mail.outbox import NotSendable, every_round, queue, renderer
from bookings.mail.transport import remove_written

__all__ = [
    "NotSendable",
    "Rendered",
    "SenderAddress",
    "every_round",
    "from_templates",
    "queue",
    "remove_written",
    "renderer",
]
