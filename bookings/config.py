"""Defaults. ``instance/config.py`` overrides them, then ``FLASK_*`` environment variables."""

SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
SQLALCHEMY_TRACK_MODIFICATIONS = False

# Times are stored in UTC and shown in this zone.
DISPLAY_TIMEZONE = "Europe/London"

# Host used in iCalendar UIDs; stable for years, so not derived from the request.
CALENDAR_UID_DOMAIN = "bookings.londonscb.gov.uk"

# No MAIL_SERVER means: write outgoing mail to the log instead of sending it.
MAIL_SERVER = None
MAIL_PORT = 25
MAIL_USE_TLS = False
MAIL_USE_SSL = False
MAIL_USERNAME = None
MAIL_PASSWORD = None
MAIL_DEFAULT_SENDER = ("London Safeguarding Children Board", "events@londonscb.example.org")
MAIL_TIMEOUT = 10
# After each request that queued mail, make one best-effort delivery attempt.
MAIL_SEND_AFTER_REQUEST = True

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
WTF_CSRF_TIME_LIMIT = None

# Public URL (scheme and host) used in e-mails and feeds when there is no request, e.g. the CLI.
SERVER_NAME = None
PREFERRED_URL_SCHEME = "http"
# Hosts the app answers for (Flask refuses others with 400). Links in e-mails and feeds are
# built from the request's host, so an untrusted one could send a delegate's manage link to
# somebody else's site. SERVER_NAME's host is added to these; list any other names here.
TRUSTED_HOSTS = ["localhost", "127.0.0.1"]

# Flask-Limiter: per-process memory by default; set redis://127.0.0.1:6379 with several workers.
RATELIMIT_STORAGE_URI = "memory://"
RATELIMIT_HEADERS_ENABLED = True
