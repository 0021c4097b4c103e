"""Environment variables are parsed strictly and fail with a sentence naming the variable."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from blacksky_site import config

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("DEBUG", "yes", True),
        ("DEBUG", "0", False),
        ("MAX_RECONNECT_ATTEMPTS", " 7 ", 7),
        ("ALLOWED_HOSTS", "a.com, b.com,", ["a.com", "b.com"]),
        ("OWNER_NUMBERS", "+49 151 234567, 15551234567", ["49151234567", "15551234567"]),
        ("PLANNED_RESTART_AT", "03:30", "03:30"),
        ("DATABASE_URL", "postgres://u@h:5432/d", "postgres://u@h:5432/d"),
        ("LOG_LEVEL", "debug", "DEBUG"),
        ("USER_COMMANDS_BURST", " 8 ", 8),
        ("SESSION_ENCRYPTION_OLD_KEYS", "A" * 43 + "=, " + "B" * 43 + "=", ["A" * 43 + "=", "B" * 43 + "="]),
    ],
)
def test_it_parses_typed_values(name: str, raw: str, expected: object) -> None:
    assert config.get(name, {name: raw}) == expected


def test_it_uses_the_declared_default_when_unset() -> None:
    assert config.get("SESSION_BACKUP_INTERVAL", {}) == 15
    assert config.get("SESSION_BACKUP_KEEP", {}) == 10
    assert config.get("DATABASE_URL", {}) == "sqlite:///db.sqlite3"
    assert config.get("BOT_PREFIX", {}) == "."
    assert config.get("USER_COMMANDS_BURST", {}) == 5


@pytest.mark.parametrize(
    ("name", "raw", "expected_words"),
    [
        ("MAX_RECONNECT_ATTEMPTS", "five", "whole number"),
        ("MAX_RECONNECT_ATTEMPTS", "0", "from 1 to 10000"),
        ("DEBUG", "maybe", "boolean"),
        ("DATABASE_URL", "mysql://x", "postgres://"),
        ("CONNECTION_WEBHOOK_URL", "ftp://x", "http"),
        ("PLANNED_RESTART_AT", "25:00", "HH:MM"),
        ("OWNER_NUMBERS", "alice", "phone numbers"),
        ("SESSION_ENCRYPTION_KEY", "c2hvcnQ=", "32"),
        ("REDIS_URL", "http://x", "redis://"),
        ("LOG_LEVEL", "loud", "DEBUG"),
        ("SESSION_ENCRYPTION_OLD_KEYS", "c2hvcnQ=", "32"),
        ("USER_COMMANDS_BURST", "0", "from 1 to 100"),
    ],
)
def test_it_rejects_malformed_values_naming_the_variable(name: str, raw: str, expected_words: str) -> None:
    with pytest.raises(ImproperlyConfigured) as info:
        config.get(name, {name: raw})
    message = str(info.value)
    assert message.startswith(name)
    assert expected_words in message


def test_it_never_echoes_a_secret_value_in_the_error() -> None:
    with pytest.raises(ImproperlyConfigured) as info:
        config.get("SESSION_ENCRYPTION_KEY", {"SESSION_ENCRYPTION_KEY": "not-base64-secret!!"})
    assert "not-base64-secret" not in str(info.value)


def test_env_example_lists_every_variable_with_its_default() -> None:
    text = (ROOT / ".env.example").read_text()
    for variable in config.VARIABLES:
        assert f"\n{variable.name}={variable.default}\n" in text, variable.name


def test_readme_settings_table_names_every_variable() -> None:
    text = (ROOT / "README.md").read_text()
    for variable in config.VARIABLES:
        assert f"`{variable.name}`" in text, variable.name


def test_every_setting_the_apps_read_with_a_fallback_is_declared() -> None:
    """A ``getattr(settings, "X", default)`` hides a missing declaration behind its default."""
    declared = {variable.name for variable in config.VARIABLES}
    undeclared = []
    for app in ("bot", "ops", "sessions_store", "media_cdn"):
        for path in sorted((ROOT / app).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "getattr"
                    and len(node.args) >= 2
                    and isinstance(node.args[0], ast.Name)
                    and node.args[0].id == "settings"
                    and isinstance(node.args[1], ast.Constant)
                    and node.args[1].value not in declared
                ):
                    undeclared.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.args[1].value}")
    assert undeclared == []


def _manage(args: list[str], env: dict[str, str], manage_py: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([*manage_py, *args], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)


def test_start_up_stops_with_one_sentence_on_a_bad_value(subprocess_env, manage_py) -> None:
    subprocess_env["MEMORY_LIMIT_MB"] = "lots"
    result = _manage(["check"], subprocess_env, manage_py)
    assert result.returncode == 2
    assert (
        result.stderr.strip() == "configuration error: MEMORY_LIMIT_MB is set to 'lots', but it must be a whole number of MB from 1 to 1048576."
    )


def test_commands_that_sign_nothing_run_without_a_secret_key(subprocess_env, manage_py) -> None:
    """Only serving and the bot need the key (tests/site/test_build.py): `check` and a build do not."""
    del subprocess_env["SECRET_KEY"]
    subprocess_env["DEBUG"] = "false"
    result = _manage(["check"], subprocess_env, manage_py)
    assert result.returncode == 0, result.stderr


def test_debug_without_a_secret_key_uses_one_generated_for_the_checkout(subprocess_env, manage_py) -> None:
    del subprocess_env["SECRET_KEY"]
    subprocess_env["DEBUG"] = "true"
    code = "import django; django.setup(); from django.conf import settings; print(len(settings.SECRET_KEY))"
    first = subprocess.run(
        [manage_py[0], "-c", code], env=subprocess_env, capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    again = subprocess.run(
        [manage_py[0], "-c", code], env=subprocess_env, capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert first.returncode == 0, first.stderr
    assert int(first.stdout) >= 50
    key = (ROOT / "var" / "dev-secret-key").read_text().strip()
    assert len(key) >= 50 and first.stdout == again.stdout


def test_check_deploy_is_clean_under_production_settings(subprocess_env, manage_py) -> None:
    subprocess_env.update({"DYNO": "web.1", "DEBUG": "false", "ALLOWED_HOSTS": "bot.example.com"})
    subprocess_env["SECRET_KEY"] = "p" * 20 + "Q9x!k2@Lm#4zR$7wT^1yU&3vB*6nC(8dE)0fG"
    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], subprocess_env, manage_py)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_cloud_mode_turns_on_with_dyno(subprocess_env, manage_py) -> None:
    subprocess_env["DYNO"] = "worker.1"
    code = "import django; django.setup(); from django.conf import settings; print(settings.CLOUD_MODE, settings.SECURE_SSL_REDIRECT)"
    result = subprocess.run(
        [*manage_py[:1], "-c", code], env=subprocess_env, capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.stdout.split() == ["True", "True"], result.stderr


def test_the_bot_child_loads_only_the_apps_it_needs(subprocess_env, manage_py) -> None:
    """The supervisor starts its child with BLACKSKY_PROCESS=bot-child: the ORM, no web or scheduler apps."""
    subprocess_env["BLACKSKY_PROCESS"] = "bot-child"
    code = (
        "import django; django.setup(); from django.conf import settings; import sys; "
        "from bot.models import ControlCommand; from sessions_store.models import WhatsAppSession; "
        "from media_cdn.models import GifAsset; "
        "print(sorted(settings.INSTALLED_APPS), 'django.contrib.admin' in sys.modules, 'django_q' in sys.modules)"
    )
    result = subprocess.run(
        [manage_py[0], "-c", code], env=subprocess_env, capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "['bot', 'django.contrib.auth', 'django.contrib.contenttypes', 'media_cdn', 'sessions_store'] False False"
    )


@pytest.mark.parametrize("token", ["a", "short-token-123", "x" * 31, "y" * 31 + " ", "z" * 20 + " " + "z" * 20, "é" * 40])
def test_a_short_or_odd_stats_token_stops_start_up_without_showing_it(token: str) -> None:
    with pytest.raises(ImproperlyConfigured) as info:
        config.get("STATS_TOKEN", {"STATS_TOKEN": token})
    message = str(info.value)
    assert message.startswith("STATS_TOKEN is set to (hidden)") and "at least 32" in message
    assert len(token.strip()) < 5 or token.strip() not in message


@pytest.mark.parametrize("token", ["", "   ", "k" * 32, "Ab3-_" * 12])
def test_an_empty_or_long_enough_stats_token_is_accepted(token: str) -> None:
    assert config.get("STATS_TOKEN", {"STATS_TOKEN": token}) == token.strip()


def test_a_short_stats_token_stops_manage_py_with_one_line(subprocess_env, manage_py) -> None:
    import subprocess

    env = {**subprocess_env, "STATS_TOKEN": "q1w2e3r4"}
    done = subprocess.run([*manage_py, "check"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "STATS_TOKEN is set to (hidden), but it must be empty or a token of at least 32" in output
    assert "Traceback" not in output and "q1w2e3r4" not in output
