""" "Tell me when booking opens": an address kept for one event until the one e-mail saying
booking is open is written, then deleted."""
