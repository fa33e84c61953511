"""The demo: the Board's own events, networks and meetings as data (``board.toml``), its
loader (``loader.py``), the made-up delegates of past events (``delegates.py``) and the
``flask --app bookings demo`` command (``cli.py``).

No feature imports the demo (only the command, the tests and bench/ do); the demo reaches the
features only through their models and services.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).with_name("board.toml")


@cache
def data() -> dict[str, Any]:
    """The data file, read once; the loader and the delegates both take their figures from it."""
    with DATA_FILE.open("rb") as file:
        return tomllib.load(file)
