"""The example pack's own tests: its conversions, and its entry point as the bot finds it."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest
from blacksky_pack_units.conversions import ConversionError, convert


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        ("10", "km", "mi", 6.2137119),
        ("1", "lb", "kg", 0.45359237),
        ("100", "c", "f", 212.0),
        ("0", "k", "c", -273.15),
        ("2,5", "l", "ml", 2500.0),
    ],
)
def test_conversions(value: str, source: str, target: str, expected: float) -> None:
    assert convert(value, source, target) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(
    ("value", "source", "target", "says"),
    [
        ("ten", "km", "mi", "not a number"),
        ("nan", "km", "mi", "not a number"),
        ("1e999", "km", "mi", "not a number"),
        ("9" * 10_000, "km", "mi", "not a number"),
        ("1", "km", "kg", "cannot convert km to kg"),
        ("-500", "c", "k", "absolute zero"),
    ],
)
def test_bad_input_is_one_sentence(value: str, source: str, target: str, says: str) -> None:
    with pytest.raises(ConversionError, match=says):
        convert(value, source, target)


def test_the_pack_is_installed_under_the_bots_entry_point_group() -> None:
    found = {ep.name: ep.value for ep in entry_points(group="blacksky.commands")}
    assert found.get("units") == "blacksky_pack_units.commands"
