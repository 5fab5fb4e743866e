"""Kubernetes resource quantities ("100m", "0.5", "128Mi", "1G"): parsed exactly, compared, formatted."""

from __future__ import annotations

import re
from fractions import Fraction

_QUANTITY = re.compile(r"^(?P<number>[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")

_MULTIPLIERS: dict[str, Fraction] = {
    "": Fraction(1),
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
    "Ti": Fraction(2**40),
    "Pi": Fraction(2**50),
    "Ei": Fraction(2**60),
}
_FRACTIONAL_SUFFIXES = ("n", "u", "m")


class QuantityError(ValueError):
    """The text is not a quantity of the expected kind; the message says why in a few words."""


def parse_quantity(text: str) -> tuple[Fraction, str]:
    """The exact value of a non-negative quantity, and its suffix. Exponent forms (`1e3`) are not accepted."""
    if not isinstance(text, str):
        raise QuantityError(f"expected a quantity string, got {text!r}")
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise QuantityError(f"{text!r} is not a Kubernetes quantity")
    suffix = match.group("suffix") or ""
    return Fraction(match.group("number")) * _MULTIPLIERS[suffix], suffix


def parse_cpu(text: str) -> Fraction:
    """CPU cores: `500m`, `0.5`, `2`."""
    value, suffix = parse_quantity(text)
    if suffix not in ("", "m"):
        raise QuantityError(f"{text!r} is not a CPU quantity (use cores like '1' or millicores like '500m')")
    if value < Fraction(1, 1000):
        raise QuantityError(f"{text!r} is below the smallest CPU quantity, 1m")
    return value


def parse_memory(text: str) -> Fraction:
    """Bytes: `128Mi`, `1Gi`, `500M`. A fractional suffix is refused: `128m` means 0.128 bytes."""
    value, suffix = parse_quantity(text)
    if suffix in _FRACTIONAL_SUFFIXES:
        raise QuantityError(f"{text!r} means {value} bytes (did you mean {text[:-1]}Mi?)")
    if value < 2**20:
        raise QuantityError(f"{text!r} is below 1Mi")
    if value.denominator != 1:
        raise QuantityError(f"{text!r} is not a whole number of bytes")
    return value


def format_cpu(cores: Fraction) -> str:
    """Whole cores as `3`, anything else as rounded-up millicores `1500m`."""
    if cores.denominator == 1:
        return str(cores.numerator)
    millis = -(-cores.numerator * 1000 // cores.denominator)
    return f"{millis}m"


def format_memory(size: Fraction) -> str:
    """The largest binary unit that divides the size exactly (`6Gi`, `5632Mi`), else whole bytes."""
    whole = -(-size.numerator // size.denominator)
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        unit = _MULTIPLIERS[suffix].numerator
        if whole % unit == 0:
            return f"{whole // unit}{suffix}"
    return str(whole)
