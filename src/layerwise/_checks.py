"""The one check of configuration numbers: "a positive integer", "a number in [0, 1)", ...

Every constructor argument, fit option and optimizer or schedule setting that
must be a number in some interval goes through :func:`check_range`, so that
each mistake gets the same clear message naming what was expected and what
was received.
"""

from __future__ import annotations

import math
import numbers

from .errors import ConfigError


def check_range(what: str, value, low: float | None = None, high: float | None = None, *,
                low_open: bool = False, high_open: bool = False, integer: bool = False,
                or_else: str | None = None) -> float | int:
    """Return ``value`` as a Python ``int`` or ``float`` after checking it lies in the interval.

    Parameters
    ----------
    what : str
        Who is asking and for what, e.g. ``"Dense units"`` or ``"SGD: momentum"``.
    value
        The value received. Booleans are refused; NaN and infinities are outside every interval.
    low, high : number, optional
        The bounds (None: unbounded).
    low_open, high_open : bool
        Whether the bound itself is excluded.
    integer : bool
        Whether the value must be an integer.
    or_else : str, optional
        What else the caller accepts (checked before calling), named in the message: ``'"auto"'``.

    Raises
    ------
    ConfigError
        ``"<what> must be <expected>, received <value>"``.
    """
    expected = describe_range(low, high, low_open, high_open, integer) + ("" if or_else is None else f" or {or_else}")
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ConfigError(f"{what} must be {expected}, received {value!r} ({type(value).__name__})")
    number = int(value) if integer else float(value)
    outside = (
        not math.isfinite(number)
        or (low is not None and (number < low or (low_open and number == low)))
        or (high is not None and (number > high or (high_open and number == high)))
    )
    if outside:
        raise ConfigError(f"{what} must be {expected}, received {value!r}")
    return number


def positive_int(what: str, value) -> int:
    """``check_range`` for an integer of at least 1."""
    return check_range(what, value, 1, integer=True)


def describe_range(low=None, high=None, low_open: bool = False, high_open: bool = False, integer: bool = False) -> str:
    """What :func:`check_range` expects, in words: ``"a positive integer"``, ``"a number in [0, 1)"``."""
    if integer and high is None and low == 1 and not low_open:
        return "a positive integer"
    left = "(" if low_open else "["
    right = ")" if high_open or high is None else "]"
    interval = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
    return f"{'an integer' if integer else 'a number'} in {interval}"
