"""Every variable of .env.example against malformed and extreme values (hypothesis): each value is
either accepted within bounds or refused with one sentence naming the variable; never a crash, never
a value that fails later (inf, nan, 1e30, a thousand workers), never a secret in the message."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from django.core.exceptions import ImproperlyConfigured
from hypothesis import given, settings
from hypothesis import strategies as st

from blacksky_site import config

OUTCOMES: Counter[str] = Counter()
EXTREME = [
    "inf", "-inf", "nan", "NaN", "1e30", "1e400", "-1", "-0.5", "0", "99999999999999999999", "4294967296",
    "١٢", "٣:٤٥", "１２", "", " ", "\x00", "a" * 1000, "abc", ".", "!/#", "@", "http://", "https://:80",
    "http://h:99999", "http://h:notaport", "postgres://u:pw-secret-1@h:notaport/db", "sqlite:///x.sqlite3",
    "redis://:pw-secret-2@", "socks5://", "/etc/passwd", "03:30", "24:00", "3:30", "+1 555 000 1111",
    "true", "maybe", "c2hvcnQ=", "A" * 44,
]
VALUES = st.one_of(
    st.sampled_from(EXTREME),
    st.text(max_size=60),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


def check(name: str, raw: str) -> str:
    variable = next(v for v in config.VARIABLES if v.name == name)
    try:
        value = config.get(name, {name: raw})
    except ImproperlyConfigured as exc:
        message = str(exc)
        assert message.startswith(f"{name} is set to ") and "\n" not in message and len(message) < 400
        if variable.secret and len(raw.strip()) >= 4:
            assert raw.strip() not in message
        return "refused"
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, float):
            assert math.isfinite(item), (name, raw, value)
        if isinstance(item, int) and not isinstance(item, bool):
            assert abs(item) < 10**9, (name, raw, value)
        if isinstance(item, str):
            assert "\x00" not in item or variable.secret or name in {"SECRET_KEY"}, (name, raw)
    return "accepted"


@given(variable=st.sampled_from([v.name for v in config.VARIABLES]), raw=VALUES)
@settings(max_examples=3000, deadline=None)
def test_every_variable_accepts_within_bounds_or_refuses_in_one_sentence(variable: str, raw: str) -> None:
    OUTCOMES[check(variable, raw)] += 1


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("TYPING_SECONDS", "inf"),
        ("TYPING_SECONDS", "1e30"),
        ("OUTBOUND_PER_MINUTE", "nan"),
        ("USER_COMMANDS_PER_MINUTE", "nan"),
        ("RECONNECT_BASE_SECONDS", "-1"),
        ("RECONNECT_CAP_SECONDS", "-5"),
        ("LEASE_TTL", "99999999999"),
        ("EVENT_RETENTION_DAYS", "10000000"),
        ("SESSION_BACKUP_INTERVAL", "99999999"),
        ("Q_WORKERS", "1000"),
        ("BOT_PREFIX", "abc"),
        ("BOT_PREFIX", "!" * 1000),
        ("LEASE_TTL", "٣٠"),
        ("PLANNED_RESTART_AT", "٠٣:٣٠"),
        ("OWNER_NUMBERS", "١٥٥٥٠٠٠١١١١"),
        ("CONNECTION_WEBHOOK_URL", "https://"),
        ("MEDIA_CDN_URL", "https://cdn.example:99999/x"),
        ("DATABASE_URL", "postgres://u@db.example:notaport/app"),
        ("REDIS_URL", "redis://"),
        ("WA_PROXY", "socks5://:1080"),
    ],
)
def test_the_values_that_once_misbehaved_are_refused(name: str, raw: str) -> None:
    assert check(name, raw) == "refused"


@pytest.mark.parametrize("name", ["WA_STORE_DIR", "TEMP_DIR", "MEDIA_ROOT"])
def test_a_directory_setting_pointing_at_a_file_is_refused(tmp_path, name: str) -> None:
    a_file = tmp_path / "not-a-dir"
    a_file.write_text("x")
    assert check(name, str(a_file)) == "refused"
    assert check(name, str(tmp_path / "new-dir")) == "accepted"


def teardown_module() -> None:
    print(f"\nFIGURE config_hostile_values {' '.join(f'{k}={v}' for k, v in sorted(OUTCOMES.items()))}")
