"""Other bots' variable names: read when ours is unset, ours winning with one warning; one table of them."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from blacksky_site import config
from blacksky_site.variables import alias_handlers, alias_part, alias_switch

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"PREFIX": "!"}, "!"),
        ({"HANDLERS": "^[.,!]"}, ".!"),
        ({"HANDLERS": "[#]"}, "#"),
        ({"PREFIX": "/", "HANDLERS": "!"}, "/"),
        ({}, "."),
    ],
)
def test_another_bots_name_is_read_when_ours_is_unset(environ, expected):
    assert config.get("BOT_PREFIX", environ) == expected


def test_ours_wins_when_both_are_set_with_one_warning(caplog, monkeypatch):
    monkeypatch.setattr(config, "_warned_both", set())
    with caplog.at_level(logging.WARNING, logger="blacksky_site.config"):
        for _ in range(3):
            assert config.get("BOT_PREFIX", {"BOT_PREFIX": "!", "HANDLERS": "#"}) == "!"
    assert [r.getMessage() for r in caplog.records] == [
        "BOT_PREFIX and HANDLERS are both set: BOT_PREFIX is used and HANDLERS ignored."
    ]


def test_a_malformed_alias_value_names_both_names_in_one_sentence():
    with pytest.raises(ImproperlyConfigured) as info:
        config.get("BOT_PREFIX", {"HANDLERS": "abc"})
    assert str(info.value) == (
        "HANDLERS (read as BOT_PREFIX) is set to 'abc', but it must be 1 to 5 punctuation characters such as "
        ". or !/ (no letters, digits, spaces, @ or quotes)."
    )


def test_the_conversions():
    assert (alias_part(0)("My Pack, Me"), alias_part(1)("My Pack, Me"), alias_part(1)("only")) == ("My Pack", "Me", "")
    assert alias_handlers("^[.!/]") == ".!/"
    online = alias_switch("online", "unavailable")
    assert (online("true"), online("false"), online("sometimes")) == ("online", "unavailable", "sometimes")


def test_a_secret_set_under_another_name_is_redacted(monkeypatch):
    from blacksky_site.variables import Alias, Variable

    secret = Variable("OUR_TOKEN", config.parse_str, "", "x", secret=True, aliases=(Alias("THEIR_TOKEN"),))
    monkeypatch.setattr(config, "VARIABLES", (*config.VARIABLES, secret))
    assert "their-token-value-123" in config.secret_values({"THEIR_TOKEN": "their-token-value-123"})


def _table() -> list[tuple[list[str], list[str], str]]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Coming from another bot", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            rows.append((re.findall(r"`([A-Z_]+)`", cells[0]), re.findall(r"`([A-Z_]+)`", cells[1]), cells[2]))
    return rows


def test_the_aliases_table_and_the_declarations_agree():
    rows = _table()
    declared = {v.name: v for v in config.VARIABLES}
    listed = {(theirs[0], ours) for theirs, names, how in rows if not how.startswith("not read") for ours in names}
    problems = []
    for variable in config.VARIABLES:
        for alias in variable.aliases:
            if (alias.name, variable.name) not in listed:
                problems.append(
                    f"add a row `{alias.name}` | `{variable.name}` to README.md's table of other bots' names"
                )
    for theirs, names, how in rows:
        for ours in names:
            if how.startswith("not read yet") and ours in declared:
                problems.append(
                    f"{ours} is declared now: add aliases=(Alias({theirs[0]!r}, ...),) to it (or it is the same "
                    f"name) and say in README.md's row how {theirs[0]} is read"
                )
            elif not how.startswith("not read") and ours not in declared:
                problems.append(f"README.md says {theirs[0]} is read as {ours}, which is not declared")
            elif not how.startswith("not read") and theirs[0] != ours:
                if theirs[0] not in {a.name for a in declared[ours].aliases}:
                    problems.append(f"README.md says {theirs[0]} is read as {ours}, but {ours} has no such alias")
    assert problems == [], "\n".join(problems)


def test_sticker_packname_is_split_into_pack_and_author():
    environ = {"STICKER_PACKNAME": "My Pack, Me"}
    assert (config.get("STICKER_PACK", environ), config.get("STICKER_AUTHOR", environ)) == ("My Pack", "Me")
    assert config.get("STICKER_AUTHOR", {"STICKER_PACKNAME": "Only a pack"}) == ""
    assert config.get("STICKER_PACK", {"STICKER_PACK": "Ours", "STICKER_PACKNAME": "Theirs,x"}) == "Ours"
