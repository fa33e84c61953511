"""Delegates' personal data: the purge rule (``service``), its command (``cli``), its console
page (``manage``) and the removal of the ``.eml`` copies of the messages it deletes."""
