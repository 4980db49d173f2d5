"""Numbers for people that never contradict the verdict.

A check fails on the exact value, but people read a rounded one: a true peak of -0.9996 dBTP
printed as "-1.00 dBTP is above the -1.0 dBTP ceiling", or a clipped fraction of 0.0010004
shown as "0.001" against a 0.001 threshold, reads as a false alarm. These helpers add digits
until the shown value sits on the same side of the shown limit as the exact one.
"""

from __future__ import annotations

import math
from typing import Any

#: Most digits ever added; beyond this two floats are shown as equal (they nearly are).
MAX_DIGITS = 12


def _order(a: float, b: float) -> int:
    a, b = float(a), float(b)
    return (a > b) - (a < b)


def fixed(x: float, limit: float | None = None, decimals: int = 1, *, sign: bool = False) -> str:
    """``x`` with ``decimals`` decimals, or more where fewer would show it on the other side
    of ``limit`` (or equal to it) than it is. ``sign`` adds a + to positive numbers."""
    spec = "+" if sign else ""
    if limit is None or not (math.isfinite(x) and math.isfinite(limit)):
        return f"{x:{spec}.{decimals}f}"
    want = _order(x, limit)
    for d in range(decimals, MAX_DIGITS + 1):
        txt = f"{x:{spec}.{d}f}"
        if _order(float(txt), round(limit, d)) == want:
            return txt
    return f"{x:{spec}.{MAX_DIGITS}f}"


def significant(v: Any, digits: int = 4) -> str:
    """``v`` with ``digits`` significant digits (integers whole, None as "n/a")."""
    if v is None:
        return "n/a"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, int) or not math.isfinite(v):
        return str(v)
    return f"{v:.1f}" if abs(v) >= 1000 and digits <= 5 else f"{v:.{digits}g}"


def value_and_threshold(value: Any, threshold: Any, digits: int = 4) -> tuple[str, str]:
    """``value`` and ``threshold`` as text, with as many significant digits as it takes for
    the shown numbers to compare the way the exact ones do (a failing 0.0010004 against 0.001
    shows as "0.0010004", not "0.001")."""
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
               for v in (value, threshold)):
        return significant(value, digits), significant(threshold, digits)
    want = _order(value, threshold)
    for d in range(digits, MAX_DIGITS + 1):
        a, b = significant(value, d), significant(threshold, d)
        if _order(float(a), float(b)) == want:
            return a, b
    return repr(value), repr(threshold)
