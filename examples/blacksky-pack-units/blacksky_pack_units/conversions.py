"""Unit conversion without the bot: pure functions the pack's commands and its tests call."""

from __future__ import annotations

import math

# factor to the base unit of each dimension
LENGTH = {"mm": 0.001, "cm": 0.01, "m": 1.0, "km": 1000.0, "in": 0.0254, "ft": 0.3048, "yd": 0.9144, "mi": 1609.344}
MASS = {"g": 0.001, "kg": 1.0, "t": 1000.0, "oz": 0.028349523125, "lb": 0.45359237}
VOLUME = {"ml": 0.001, "l": 1.0, "gal": 3.785411784, "cup": 0.2365882365}
TEMPERATURE = ("c", "f", "k")
DIMENSIONS = (LENGTH, MASS, VOLUME)
MAX_VALUE = 1e15


class ConversionError(ValueError):
    """Input the converter cannot take; its text is the reply."""


def _to_celsius(value: float, unit: str) -> float:
    return {"c": value, "f": (value - 32) * 5 / 9, "k": value - 273.15}[unit]


def _from_celsius(value: float, unit: str) -> float:
    return {"c": value, "f": value * 9 / 5 + 32, "k": value + 273.15}[unit]


def convert(value_text: str, source: str, target: str) -> float:
    """``convert("10", "km", "mi")`` -> 6.2137...; raises ConversionError with a sentence to reply."""
    try:
        value = float(value_text.replace(",", ".")) if len(value_text) <= 32 else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or abs(value) > MAX_VALUE:
        raise ConversionError(f"{value_text[:32]!r} is not a number I can convert.")
    source, target = source.lower()[:8], target.lower()[:8]
    if source in TEMPERATURE and target in TEMPERATURE:
        celsius = _to_celsius(value, source)
        if celsius < -273.15:
            raise ConversionError("That is colder than absolute zero.")
        return _from_celsius(celsius, target)
    for table in DIMENSIONS:
        if source in table and target in table:
            return value * table[source] / table[target]
    known = sorted({*LENGTH, *MASS, *VOLUME, *TEMPERATURE})
    raise ConversionError(f"I cannot convert {source} to {target}. Units: {', '.join(known)}.")
