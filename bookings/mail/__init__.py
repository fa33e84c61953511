"""E-mail in four parts, none of which knows any feature.

``outbox`` (rows saying what to send, the renderer registry, claims and back-off), ``messages``
(a rendered message as a Flask-Mail ``Message``), ``transport`` (SMTP, or ``.eml`` files without
a server) and ``sender`` (the loop: claim, render, deliver, record). Features reach it through
``service``: they queue their own messages and register the renderers of their kinds
(``booking/notifications.py`` words everything delegates hear).
"""
