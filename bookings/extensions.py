"""Extension objects, created unbound here and bound to the app in ``create_app``."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_wtf import CSRFProtect

from bookings.db import db

migrate = Migrate(render_as_batch=True, compare_type=True)
csrf = CSRFProtect()
mail = Mail()
login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = "Please log in to continue."
# Limits only where a request costs someone else something (an e-mail sent, a password tried).
limiter = Limiter(key_func=get_remote_address)

__all__ = ["csrf", "db", "limiter", "login_manager", "mail", "migrate"]
