"""Defaults. ``instance/config.py`` overrides them, then ``FLASK_*`` environment variables."""

# hide_parameters keeps the values of a failed statement (a delegate's name, e-mail, needs)
# out of exception messages and so out of the logs; create_app enforces it whatever is set here.
SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
SQLALCHEMY_TRACK_MODIFICATIONS = False

# Times are stored in UTC and shown in this zone.
DISPLAY_TIMEZONE = "Europe/London"

# Host used in iCalendar UIDs; stable for years, so not derived from the request.
CALENDAR_UID_DOMAIN = "bookings.londonscb.gov.uk"

# Whom delegates contact about a booking: shown in the footer, on the confirmation and manage
# pages beside the reference, and in every e-mail. The defaults are the demo's and are not real
# (example.org; 020 7946 is Ofcom's range for drama): set the Board's own in instance/config.py.
CONTACT_NAME = "The Board's events team"
CONTACT_EMAIL = "events@londonscb.example.org"
CONTACT_PHONE = "020 7946 0000"

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
REMEMBER_COOKIE_HTTPONLY = True
REMEMBER_COOKIE_SAMESITE = "Lax"
WTF_CSRF_TIME_LIMIT = None

# Public URL (scheme and host) used in e-mails and feeds when there is no request, e.g. the CLI.
# PREFERRED_URL_SCHEME = "https" also marks the session and remember cookies Secure and sends
# Strict-Transport-Security on requests that arrived over HTTPS.
SERVER_NAME = None
PREFERRED_URL_SCHEME = "http"
# Behind a reverse proxy: how many proxies in front set each X-Forwarded-* header (werkzeug's
# ProxyFix). 0 trusts none, so a client cannot claim another address or HTTPS; with a proxy that
# terminates TLS, set PROXY_FIX_X_FOR = 1 and PROXY_FIX_X_PROTO = 1.
PROXY_FIX_X_FOR = 0
PROXY_FIX_X_PROTO = 0
PROXY_FIX_X_HOST = 0
PROXY_FIX_X_PORT = 0
PROXY_FIX_X_PREFIX = 0
# Hosts the app answers for (Flask refuses others with 400). Links in e-mails and feeds are
# built from the request's host, so an untrusted one could send a delegate's manage link to
# somebody else's site. SERVER_NAME's host is added to these; list any other names here.
TRUSTED_HOSTS = ["localhost", "127.0.0.1"]

# Flask-Limiter. memory:// counts per process: right for `make run`, wrong for several workers,
# where every worker would allow the whole limit. `make serve` sets redis://127.0.0.1:6379.
# A storage other than memory:// that does not answer at start-up stops the app with one line;
# if it goes away later, limits fall back to per-process memory with a warning in the log until
# it answers again (never a 500 on the login page, never silence).
RATELIMIT_STORAGE_URI = "memory://"
RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 2}
RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
RATELIMIT_KEY_PREFIX = "lscb-bookings"
RATELIMIT_HEADERS_ENABLED = True

# The TrueType font certificates' PDFs print names in (any script it covers). None: DejaVu Sans
# where Debian and Ubuntu install it, if it is there; "" or a missing file: Helvetica, which
# covers Latin-1 only, so other letters are transliterated (bookings/certificates/pdf.py).
CERTIFICATE_FONT: str | None = None
# The largest request body: a paper's upload (at most 20 MB, bookings.papers.service) and its
# form. A larger one is refused with the 413 page before it is read.
MAX_CONTENT_LENGTH = 21 * 1024 * 1024

# How long a worker keeps a public page (home, events list, an event) to answer visitors not
# logged in (bookings/web/kept.py): what such a page shows is at most this old. 0: not kept.
PUBLIC_PAGES_KEPT_SECONDS = 1.0
