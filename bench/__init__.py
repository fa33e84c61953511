"""Benchmarks: ``make bench`` (``python -m bench``) runs every module's ``main()``; never in CI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def private_postgres(prefix: str) -> Iterator[str | None]:
    """A database of the run's own on BENCH_DATABASE_URL's server (default: the local `test`
    server), dropped afterwards; None, with a line saying why, when the server is unreachable."""
    base = os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG)
    name = f"{prefix}_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        print(f"PostgreSQL skipped: {str(exc).splitlines()[0]}")
        admin.dispose()
        yield None
        return
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
