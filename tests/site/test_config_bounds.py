"""Every variable of ``.env.example`` takes hostile values: accepted means usable, refused means one sentence.

``test_config_fuzz.py`` checks that no value crashes; this checks what an accepted value promises.

For each declared variable hypothesis draws malformed and extreme values (``inf``, ``nan``,
``1e30``, non-ASCII digits, huge and negative numbers, URLs with odd ports, hosts and passwords,
paths of existing files, long and multi-line text). Each outcome is one of two:

- accepted: the value is one its users can live with (numbers finite and within the parser's
  declared bounds, URLs with a host and a port, directories that are not files, a prefix the
  router answers to, ...);
- refused: ``ImproperlyConfigured`` with one sentence on one line naming the variable and the
  expected form, never a secret or a URL's credentials, and no other exception.

The module prints the number of cases per outcome at the end (``pytest -s``).
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blacksky_site import config
from bot.dispatch.parsing import parse_command

ROOT = Path(__file__).resolve().parents[2]
EXISTING_FILE = ROOT / "manage.py"
OUTCOMES: Counter[tuple[str, str]] = Counter()
SECRET_WORD = "hunter2-secret-pw"

NON_ASCII_DIGITS = st.text(
    alphabet=st.characters(categories=["Nd"], exclude_characters="0123456789"), min_size=1, max_size=4
)
NUMBERS = st.one_of(
    st.integers(-(10**30), 10**30).map(str),
    st.integers(-10, 100_000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["inf", "-inf", "nan", "NaN", "1e30", "1e999", "-1", "0", "1_000", "0x10", "1e-400", " 5 "]),
    st.sampled_from(["١٢", "٣٠", "१०", "²", "½", "12.5.1", "+", ".", "e5", "9" * 5000]),
    NON_ASCII_DIGITS,
)
HOSTS = st.sampled_from(["db.internal", "127.0.0.1", "[::1]", "", "h_st", "hôst", "a b", "%2Fvar%2Frun"])
PORTS = st.one_of(
    st.just(""),
    st.integers(-5, 70_000).map(lambda port: f":{port}"),
    st.sampled_from([":notaport", ":", ":١٢", ": 80", ":+80", ":99999", ":0", ":65535"]),
)
URLS = st.builds(
    "{}{}{}{}{}".format,
    st.sampled_from(["http://", "https://", "postgres://", "sqlite:///", "redis://", "socks5://", "ftp://", "", "//"]),
    st.sampled_from(["", f"user:{SECRET_WORD}@", f":{SECRET_WORD}@", "user@"]),
    HOSTS,
    PORTS,
    st.sampled_from(["", "/", "/db", "/0", "/99", "/path?token=" + SECRET_WORD, "#frag", "/x/../y"]),
)
TIMES = st.one_of(
    st.builds("{:02d}:{:02d}".format, st.integers(-1, 99), st.integers(-1, 99)),
    st.sampled_from(["٠٣:٣٠", "3:30", "03:30:00", "0330", "24:00", "23:59", "03:30\n", "03.30"]),
)
PREFIXES = st.one_of(
    st.text(min_size=0, max_size=8),
    st.sampled_from(["abc", ".", ".!", "!!!!!!", "." * 1000, "٫", "@", "🙂", "\u200b"]),
)
PHONES = st.one_of(
    st.lists(st.text(alphabet="0123456789+ -", min_size=0, max_size=20), max_size=60).map(",".join),
    st.sampled_from(["١٢٣٤٥٦٧٨", "²²²²²²²", "49151234567", "1" * 16, "123456", "12345678,abc"]),
)
PATHS = st.sampled_from(
    [str(EXISTING_FILE), str(EXISTING_FILE / "below"), "manage.py", "", "var/wa", "x" * 2000, "/tmp", "a\nb"]
)
TEXT = st.one_of(st.text(max_size=200), st.just("x" * 100_000), st.just("line\nbreak"))
DIRECTORIES = {"WA_STORE_DIR", "MEDIA_ROOT", "TEMP_DIR"}
HOSTILE = st.one_of(NUMBERS, URLS, TIMES, PREFIXES, PHONES, PATHS, TEXT)


def _accepted_is_usable(variable: config.Variable, raw: str, value: object) -> None:
    """What an accepted value promises to the code that reads it."""
    bounds = getattr(variable.parse, "bounds", None)
    if bounds is not None:
        assert isinstance(value, int | float) and math.isfinite(value)
        assert bounds[0] <= value <= bounds[1]
        assert raw.strip().isascii() and "_" not in raw
    if variable.name in DIRECTORIES:
        path = Path(value) if variable.name == "TEMP_DIR" else ROOT / value
        assert not any(place.is_file() for place in (path, *path.parents))
    if variable.name in config.URL_VARIABLES and value and not str(value).startswith("sqlite:"):
        parts = urlsplit(str(value))
        assert parts.hostname
        assert parts.port is None or 1 <= parts.port <= 65535
    if variable.name == "BOT_PREFIX":
        assert 1 <= len(value) <= 5
        assert parse_command(f"{value[0]}menu", value) is not None
    if variable.name == "OWNER_NUMBERS":
        assert all(number.isascii() and number.isdigit() and 7 <= len(number) <= 15 for number in value)
    if variable.name == "PLANNED_RESTART_AT" and value:
        assert re.fullmatch(r"[0-2][0-9]:[0-5][0-9]", value) and int(value[:2]) < 24
    if variable.name == "ALLOWED_HOSTS":
        assert all(host.isascii() and " " not in host for host in value)
    if variable.name in {"CSRF_TRUSTED_ORIGINS", "PUBLIC_URL"}:
        for origin in value if isinstance(value, list) else [value] if value else []:
            parts = urlsplit(origin.replace("*.", "", 1))
            assert parts.scheme in {"http", "https"} and parts.hostname and parts.path in {"", "/"}
            assert parts.port is None or 1 <= parts.port <= 65535
    if variable.name == "DATABASE_URL" and not value.startswith("sqlite:"):
        assert urlsplit(value).path.strip("/")  # a database name


def _refusal_is_one_sentence(variable: config.Variable, raw: str, message: str) -> None:
    assert message.startswith(f"{variable.name} is set to ")
    assert ", but it must be " in message and message.endswith(".")
    assert "\n" not in message and "Traceback" not in message
    assert len(message) < 400
    expected = message.rsplit(", but it must be ", 1)[1]
    assert not re.search(r"[.!?]\s+[A-Z]", expected), message  # one sentence
    assert expected[:1].islower() or expected[:1].isdigit(), message  # the form expected, not an error's own words
    if variable.name in config.URL_VARIABLES:  # a URL's password, token or path is never quoted
        assert SECRET_WORD not in message
    if variable.secret and len(raw.strip()) >= 4:
        assert raw.strip() not in message


@pytest.fixture(scope="module", autouse=True)
def _outcome_report() -> Iterator[None]:
    yield
    total = sum(OUTCOMES.values())
    by_outcome = Counter()
    for (_, outcome), count in OUTCOMES.items():
        by_outcome[outcome] += count
    print(f"\nconfig bounds: {total} generated cases over {len(config.VARIABLES)} variables: {dict(by_outcome)}")


@pytest.mark.parametrize("variable", config.VARIABLES, ids=lambda variable: variable.name)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=HOSTILE)
def test_a_hostile_value_is_accepted_within_bounds_or_refused_in_one_sentence(
    variable: config.Variable, raw: str
) -> None:
    try:
        value = config.get(variable.name, {variable.name: raw})
    except ImproperlyConfigured as exc:
        _refusal_is_one_sentence(variable, raw, str(exc))
        OUTCOMES[variable.name, "refused"] += 1
    else:
        _accepted_is_usable(variable, raw, value)
        OUTCOMES[variable.name, "accepted"] += 1


def test_every_number_setting_declares_its_bounds() -> None:
    """A number read with a bare int()/float() has no bounds: every numeric variable carries them."""
    numeric_defaults = [v for v in config.VARIABLES if re.fullmatch(r"[0-9][0-9.]*", v.default)]
    assert len(numeric_defaults) > 20
    assert [v.name for v in numeric_defaults if getattr(v.parse, "bounds", None) is None] == []


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("LEASE_TTL", "9" * 5000),  # int() of 5,000 digits raises its own two-sentence ValueError
        ("TYPING_SECONDS", "1_0"),  # float() reads it as 10
        ("WA_STORE_DIR", "manage.py"),  # relative: a file of the project, where settings resolve it
        ("WA_STORE_DIR", str(EXISTING_FILE / "below")),  # below a file: mkdir fails later
        ("TEMP_DIR", str(EXISTING_FILE / "below")),
        ("MEDIA_ROOT", ""),  # the project root itself
        ("PUBLIC_URL", "https://bot.example.com:99999"),
        ("PUBLIC_URL", "https://user:pw-secret@bot.example.com"),
        ("ALLOWED_HOSTS", "bot example.com"),
        ("CSRF_TRUSTED_ORIGINS", "bot.example.com"),  # Django's check E001 then stops every command
        ("CSRF_TRUSTED_ORIGINS", "https://bot.example.com:99999"),
        ("REDIS_URL", "redis://:pw-secret@cache.internal:6379/abc"),
        ("DATABASE_URL", "postgres://app:pw-secret@db.internal:5432/"),  # no database name
        ("HEROKU_APP_DEFAULT_DOMAIN_NAME", "my-bot.herokuapp.co\u212a"),  # Kelvin sign, lowers to k
        ("HEROKU_APP_NAME", "My Bot!"),
        ("OWNER_NUMBERS", "1234567890123456"),  # E.164 has 15 digits at most
        ("OWNER_NUMBERS", "12345"),
    ],
)
def test_values_once_accepted_and_failing_later_are_refused_in_one_sentence(name: str, raw: str) -> None:
    variable = config._BY_NAME[name]
    with pytest.raises(ImproperlyConfigured) as info:
        config.get(name, {name: raw})
    _refusal_is_one_sentence(variable, raw, str(info.value))
    assert "pw-secret" not in str(info.value)


def _limits(which: str) -> dict[str, str]:
    """Every bounded number at its lowest or highest accepted value."""
    values = {}
    for variable in config.VARIABLES:
        bounds = getattr(variable.parse, "bounds", None)
        if bounds is not None:
            values[variable.name] = str(bounds[0] if which == "low" else bounds[1])
    return values


@pytest.mark.parametrize("which", ["low", "high"])
def test_every_number_at_its_bound_loads_the_settings(which, subprocess_env, manage_py) -> None:
    """Accepted means usable: settings built from extreme values load (nothing overflows there)."""
    subprocess_env.update(_limits(which))
    code = (
        "import django; django.setup(); from django.conf import settings; from datetime import timedelta; "
        "timedelta(days=settings.EVENT_RETENTION_DAYS, minutes=settings.SESSION_BACKUP_INTERVAL, "
        "seconds=settings.LEASE_TTL + settings.OUTBOX_MAX_AGE_SECONDS); print('ok')"
    )
    result = subprocess.run(
        [manage_py[0], "-c", code], env=subprocess_env, capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.stdout.strip() == "ok", result.stderr


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("DATABASE_URL", "postgres://app:pw-secret-77@db.internal:notaport/name"),
        ("TYPING_SECONDS", "inf"),
        ("Q_WORKERS", "١٢"),
        ("WA_STORE_DIR", str(EXISTING_FILE)),
    ],
)
def test_manage_py_check_with_a_bad_value_prints_one_line_and_no_traceback(
    name, raw, subprocess_env, manage_py
) -> None:
    subprocess_env[name] = raw
    result = subprocess.run(
        [*manage_py, "check"], env=subprocess_env, capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"configuration error: {name} is set to ")
    assert "Traceback" not in result.stderr and "pw-secret" not in result.stderr


@pytest.mark.parametrize(("name", "raw"), [("MEMORY_LIMIT_MB", "lots"), ("TYPING_SECONDS", "inf")])
def test_gunicorn_with_a_bad_value_prints_one_line_and_no_traceback(name, raw, subprocess_env) -> None:
    """Read by gunicorn.conf.py (MEMORY_LIMIT_MB) or only by the workers' settings (TYPING_SECONDS): both
    stop the master before a worker boots, where the workers' exits raced its halt into a traceback."""
    subprocess_env.update({name: raw, "PORT": "0", "WEB_CONCURRENCY": "2"})
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    result = subprocess.run(
        [gunicorn, "blacksky_site.wsgi"], env=subprocess_env, capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    [line] = [line for line in result.stderr.splitlines() if "[INFO]" not in line]
    assert line.startswith(f"configuration error: {name} is set to {raw!r}, but it must be ")
