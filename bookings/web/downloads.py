"""What every spreadsheet download does to its cells and its file, whichever feature writes it."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

# Spreadsheets run a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Without a byte-order mark Excel reads UTF-8 as the local code page: "Zoë" becomes "ZoÃ«".
BYTE_ORDER_MARK = "\ufeff"


def spreadsheet_cell(value: Any) -> Any:
    """``value`` as a CSV cell: text a spreadsheet would run as a formula gets a leading quote,
    so a delegate's or organiser's text is shown, never run; None is an empty cell."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def spreadsheet_csv(rows: Iterable[Sequence[Any]]) -> str:
    """CSV text that spreadsheets open right: the byte-order mark first, so accents and the ½
    survive Excel; CRLF line ends; every cell through ``spreadsheet_cell``."""
    out = io.StringIO()
    out.write(BYTE_ORDER_MARK)
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([spreadsheet_cell(value) for value in row])
    return out.getvalue()
