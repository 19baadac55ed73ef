"""Whole numbers read from client input: ASCII digits only, length-capped before conversion.

`str.isdigit` also accepts digits `int` refuses (`"²"`), and `int` refuses strings of more than
4,300 digits; both would otherwise surface as a 500 instead of the upstream's 400 or 401.
"""

from __future__ import annotations

MAX_DIGITS = 18


def parse_digits(text: str | None, *, max_digits: int = MAX_DIGITS) -> int | None:
    """The non-negative integer `text` spells in ASCII digits, or None when it spells none."""
    if not text or len(text) > max_digits or not text.isascii() or not text.isdigit():
        return None
    return int(text)
