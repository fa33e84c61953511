"""``python -m bench``: run every benchmark module's ``main()`` in turn (``make bench``)."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from bench._summary import table


def main() -> None:
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module.name.startswith("_"):
            continue
        print(f"== bench.{module.name}")
        importlib.import_module(f"bench.{module.name}").main([])
    print("== summary (ratios are against floors measured in this run)")
    print(table())


if __name__ == "__main__":
    main()
