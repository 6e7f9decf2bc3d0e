"""How the report writes numbers: percentages, rounded values and intervals, a dash for a missing or undefined one."""

from __future__ import annotations

import math


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def pct(value) -> str:
    return f"{value:.1%}" if is_number(value) else "–"


def num(value, places: int = 3) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not is_number(value):
        return "–"
    return f"{value:.{min(places, 1) if abs(value) >= 10 else places}f}"  # 120.0 tokens/s, not 120.000


def interval(record: dict) -> str:
    return f"[{pct(record.get('low'))}, {pct(record.get('high'))}]"


def p_value(value) -> str:
    """A test's p, to three places; below 0.001 as < 0.001 (not a p of 0.000)."""
    if not is_number(value):
        return "–"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"
