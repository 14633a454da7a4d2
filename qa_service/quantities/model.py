"""What a reading holds (`Quantity`, `Regimen`, `Reading`) and arithmetic on quantities (a course's total dose, its
dose per fraction, the values a quantity states)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Quantity:
    """One stated quantity: a value or range in a normalised unit, what it measures and how it is compared.

    `kind` is dose, level, volume, measure, percentage, interval, cycle ("of every 4 weeks"), time, age, fractions,
    count, index (day 3), repeat (x5) or number (a bare number). `op` is "=", ">", ">=", "<" or "<=". An interval
    is `times` administrations every `low`..`high` `unit`. A dose in Gy keeps its `role` ("total", "per fraction",
    or "" when the text does not say) and `fractions`. `numbers` are the numbers as written, each with its value
    and the factor that converts it to `unit`; `text` is the quantity as written, comparison included.
    """

    kind: str
    low: float
    high: float
    unit: str = ""
    op: str = "="
    text: str = ""
    times: tuple[float, float] = (1.0, 1.0)
    role: str = ""
    fractions: float | None = None
    numbers: tuple[tuple[str, float, float], ...] = ()
    start: int = 0


@dataclass
class Regimen:
    """A dose and what its clause binds to it: the drug, the routes, the intervals, the timing (durations such as
    "over 15 minutes" or "for 2 days" and days such as "on day 3" after the dose) and bare numbers."""

    drug: str | None = None
    dose: Quantity | None = None
    intervals: list[Quantity] = field(default_factory=list)
    timing: list[Quantity] = field(default_factory=list)
    routes: set[str] = field(default_factory=set)
    values: list[Quantity] = field(default_factory=list)
    start: int = 0
    drug_routes: set[str] = field(default_factory=set)  # stated before the dose: "subcutaneous granisetron, 5 mg"


@dataclass
class Reading:
    """What `read` finds in a text. `free` are the quantities no regimen binds."""

    quantities: list[Quantity] = field(default_factory=list)
    regimens: list[Regimen] = field(default_factory=list)
    free: list[Quantity] = field(default_factory=list)
    drugs: set[str] = field(default_factory=set)
    identifiers: dict[str, int] = field(default_factory=dict)  # name -> where it starts
    citations: dict[tuple[str, int], int] = field(default_factory=dict)  # (body, year) -> where it starts
    # per sentence: the drugs it names, the routes it states, its quantities
    sentences: list[tuple[frozenset[str], frozenset[str], list[Quantity]]] = field(default_factory=list)


def total_dose(q: Quantity) -> float | None:
    """The whole course of a dose in Gy when the text gives it (8 Gy x 1 -> 8; 5 x 4 Gy -> 20), else None."""
    if q.role == "per fraction":
        return q.low * q.fractions if q.fractions is not None else None
    if q.role == "total" or q.fractions == 1:
        return q.low
    return None


def dose_per_fraction(q: Quantity) -> float | None:
    """The dose of each fraction in Gy when the text gives it (20 Gy in 5 fractions -> 4), else None."""
    if q.role == "per fraction":
        return q.low
    return q.low / q.fractions if q.fractions else None


def same(a: float, b: float) -> bool:
    """Two values agree, up to floating-point rounding."""
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


def values_of(quantities: Iterable[Quantity]) -> set[float]:
    """Every value the quantities state or imply (bounds, counts, fractionation, numbers as written), rounded."""
    out: set[float] = set()
    for q in quantities:
        out.update((q.low, q.high, *q.times))
        if q.fractions is not None:
            out.add(q.fractions)
        if q.unit == "Gy":
            out.update(v for v in (total_dose(q), dose_per_fraction(q)) if v is not None)
        for _, value, factor in q.numbers:
            out.update((value, value * factor))
    return {round(v, 6) for v in out}
