"""Rate limits under `make serve`: one count for all gunicorn workers together (in Redis), and
a storage that does not answer stops start-up with one line instead of counting per worker.

The shared-count test needs Redis at 127.0.0.1:6379 (.ci/run starts it); without it the test
is skipped with that reason, except under CI=true, where it fails.
"""

from __future__ import annotations

import http.cookiejar
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bookings import create_app
from bookings.db import db
from tests.conftest import IN_CI, make_app
from tests.test_concurrency import _free_port, gunicorn

pytestmark = pytest.mark.slow

REDIS_URL = "redis://127.0.0.1:6379/0"
# As declared on the views: accounts/views.py and booking/views.py.
LOGIN_LIMIT = 10
LOST_LINK_LIMIT = 5


def _redis() -> object:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"the shared rate-limit test needs Redis at 127.0.0.1:6379 ({exc})"
        if IN_CI:
            pytest.fail(message + " (CI=true: .ci/run starts redis-server)")
        pytest.skip(message)
    return client


@pytest.fixture
def site_db(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'limits.sqlite3'}"
    app = make_app(url, tmp_path)
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    yield url


class Visitor:
    """One browser: its own cookies, the form's CSRF token, then a POST at the starting gun."""

    def __init__(self, base: str, path: str, fields: dict[str, str]) -> None:
        self.url, self.fields = base + path, fields
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self.status: int | None = None

    def prepare(self) -> None:
        with self.opener.open(self.url, timeout=30) as page:
            html = page.read().decode()
        self.csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)[1]

    def post(self, barrier: threading.Barrier) -> None:
        data = urllib.parse.urlencode({"csrf_token": self.csrf, **self.fields}).encode()
        barrier.wait()
        try:
            with self.opener.open(self.url, data, timeout=60) as response:
                self.status = response.status
        except urllib.error.HTTPError as error:
            self.status = error.code


def _all_at_once(visitors: list[Visitor]) -> list[int | None]:
    for visitor in visitors:
        visitor.prepare()
    barrier = threading.Barrier(len(visitors))
    threads = [threading.Thread(target=v.post, args=(barrier,)) for v in visitors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return [v.status for v in visitors]


def test_login_and_lost_link_limits_hold_across_gunicorn_workers(site_db, tmp_path):
    redis_client = _redis()
    prefix = f"test-{uuid.uuid4().hex}"
    access_log = tmp_path / "access.log"
    env = {
        "FLASK_RATELIMIT_STORAGE_URI": REDIS_URL,
        "FLASK_RATELIMIT_KEY_PREFIX": prefix,
    }
    # Which worker (process id) answered each request.
    # Each worker process serves at most three requests before it is replaced, so the guesses
    # certainly reach many processes: a limit counted per process would let more through.
    args = (
        "--access-logfile",
        str(access_log),
        "--access-logformat",
        "%(p)s %(m)s %(U)s %(s)s",
        "--max-requests",
        "3",
    )
    try:
        with gunicorn(site_db, "limits-test-secret", tmp_path, env=env, args=args) as base:
            guesses = _all_at_once(
                [
                    Visitor(base, "/login", {"email": f"guess{n}@example.org", "password": "x"})
                    for n in range(3 * LOGIN_LIMIT)
                ]
            )
            requests = _all_at_once(
                [
                    Visitor(base, "/bookings/lost-link", {"email": f"d{n}@example.org"})
                    for n in range(2 * LOST_LINK_LIMIT + 2)
                ]
            )
    finally:
        for key in redis_client.scan_iter(match=f"*{prefix}*"):
            redis_client.delete(key)

    # Exactly the limit got an answer (a refused password, a "link sent" page); the rest 429.
    assert sorted(guesses) == [400] * LOGIN_LIMIT + [429] * (2 * LOGIN_LIMIT)
    assert sorted(requests) == [200] * LOST_LINK_LIMIT + [429] * (LOST_LINK_LIMIT + 2)
    served_by = {
        line.split()[0]
        for line in access_log.read_text().splitlines()
        if " POST /login " in f" {line} "
    }
    assert len(served_by) >= 2 * LOGIN_LIMIT // 3, "the guesses did not reach many processes"


def test_a_storage_that_does_not_answer_stops_start_up_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)
    dead = f"redis://127.0.0.1:{_free_port()}/0"
    with pytest.raises(SystemExit) as stopped:
        create_app(
            {
                "SECRET_KEY": "x",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}",
                "RATELIMIT_STORAGE_URI": dead,
                # Explicit: the limiter is one object per process and remembers the last app's.
                "RATELIMIT_ENABLED": True,
            }
        )
    assert stopped.value.code == 3
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"RATELIMIT_STORAGE_URI {dead} is not answering")
    assert "memory://" in line


def test_under_gunicorn_a_dead_storage_stops_the_server_instead_of_looping(tmp_path):
    dead = f"redis://user:hunter2@127.0.0.1:{_free_port()}/0"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{_free_port()}",
            "bookings:create_app()",
        ],
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
            "FLASK_SECRET_KEY": "x",
            "FLASK_RATELIMIT_STORAGE_URI": dead,
        },
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    refusals = [line for line in result.stderr.splitlines() if "is not answering" in line]
    assert 1 <= len(refusals) <= 2, result.stderr  # one per worker booted, then the master stops
    assert "Worker failed to boot" in result.stderr
    assert "hunter2" not in result.stderr
