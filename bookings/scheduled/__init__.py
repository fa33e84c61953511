"""Scheduled messages: per event, joining instructions, a reminder the day before, and after
the event a thank-you to those who came and a note to those who did not.

``models`` (each kind's default and an event's own settings), ``service`` (when each is due,
the sender's round job that writes them into the outbox, the console's edits and previews),
``notifications`` (the renderers: what the delegate reads, checked again when it goes),
``forms`` and ``manage`` (the event's "Scheduled messages" console page).
"""
