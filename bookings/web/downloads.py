"""What every spreadsheet download does to its cells, whichever feature writes the file."""

from __future__ import annotations

from typing import Any

# Spreadsheets run a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> Any:
    """``value`` as a CSV cell: text a spreadsheet would run as a formula gets a leading quote,
    so a delegate's or organiser's text is shown, never run; None is an empty cell."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
