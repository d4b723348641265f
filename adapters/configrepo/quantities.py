"""Kubernetes resource quantities as numbers, to compare a request with its limit."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_SUFFIXES = {
    "": Decimal(1), "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
    "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12, "P": Decimal(10) ** 15, "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40, "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
}  # fmt: skip
_SPLIT = re.compile(r"([0-9.eE+-]*?)([numkMGTPE]i?|)")


def parse_quantity(text: str) -> Decimal | None:
    """The value of a quantity already checked by ``checks.quantity``; ``None`` if not one."""
    match = _SPLIT.fullmatch(text)
    if match is None or match.group(2) not in _SUFFIXES:
        return None
    try:
        return Decimal(match.group(1)) * _SUFFIXES[match.group(2)]
    except InvalidOperation:
        return None


def request_exceeds_limit(request: str, limit: str) -> bool:
    low, high = parse_quantity(request), parse_quantity(limit)
    return low is not None and high is not None and low > high
