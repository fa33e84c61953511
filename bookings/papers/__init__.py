"""Papers and presentations of events and network meetings: links and uploaded files, each
with an audience and an optional embargo, and the one "papers are posted" e-mail per booking."""
