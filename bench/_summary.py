"""The figures of one ``make bench`` run, gathered for the table printed at its end."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    what: str
    database: str
    value: float
    unit: str
    floor: float | None = None  # measured in the same run, same unit
    floor_name: str = ""
    goal: str = ""


FIGURES: list[Figure] = []


def record(*args, **kwargs) -> None:
    FIGURES.append(Figure(*args, **kwargs))


def table() -> str:
    """Markdown: each figure beside its floor and their ratio, or beside its goal."""
    lines = [
        "| what | database | figure | floor (same run) | ratio | goal |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for f in FIGURES:
        floor = f"{f.floor_name} {f.floor:,.1f}" if f.floor is not None else "-"
        ratio = f"{f.value / f.floor:.3f}" if f.floor else "-"
        figure = f"{f.value:,.1f} {f.unit}" if f.unit else f"{f.value:,.0f}"
        lines.append(f"| {f.what} | {f.database} | {figure} | {floor} | {ratio} | {f.goal} |")
    return "\n".join(lines)
