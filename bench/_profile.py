"""Where the time of one request goes, in process (cProfile), on the demo in a SQLite file.

    .venv/bin/python -m bench._profile [page|list|booking] [--n 200] [--top 25]

Not run by ``make bench`` (it prints a profile, not a figure): it is the tool for deciding what
to make faster. ``booking`` posts the booking form with fresh addresses at the page's event.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import pstats
import re
import tempfile
import time
from pathlib import Path

from bench.pages import _prepare


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=("page", "list", "booking"), default="page", nargs="?")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--database", default="")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'profile.sqlite3'}"
        slug = _prepare(url)
        from bookings import create_app

        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": "bench",
                "MAIL_SEND_AFTER_REQUEST": False,
                # The page rendered each time, not answered from the keep: what it costs to make.
                "PUBLIC_PAGES_KEPT_SECONDS": 0,
            }
        )
        client = app.test_client()
        page = f"/events/{slug}"
        html = client.get(page).get_data(as_text=True)
        counter = itertools.count()
        if args.what == "booking":
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
            sector = re.search(r'<option value="(\d+)">', html).group(1)
            lscb = re.findall(r'<option value="(\d+)">', html)[-1]

            def one() -> None:
                n = next(counter)
                data = {
                    "csrf_token": token,
                    "name": f"Profile {n}",
                    "email": f"profile{n}@example.org",
                    "organisation": "Bench",
                    "job_title": "Tester",
                    "sector": sector,
                    "lscb": lscb,
                    "privacy": "y",
                }
                response = client.post(f"{page}/book", data=data)
                assert response.status_code == 303, response.status_code
        else:
            path = page if args.what == "page" else "/events"

            def one() -> None:
                assert client.get(path).status_code == 200

        for _ in range(10):
            one()
        started = time.perf_counter()
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.n):
            one()
        profiler.disable()
        elapsed = (time.perf_counter() - started) / args.n
        print(f"{args.what}: {elapsed * 1000:.2f} ms per request under the profiler")
        stats = pstats.Stats(profiler).sort_stats("cumulative")
        stats.print_stats(args.top)


if __name__ == "__main__":
    main()
