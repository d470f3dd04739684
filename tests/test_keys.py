"""Production pseudonymises only with a strong key, and ``commonground keygen`` makes one."""

from __future__ import annotations

import re
import secrets

import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.settings import (
    DEVELOPMENT_PSEUDONYM_KEY,
    MissingSecretError,
    WeakSecretError,
    get_settings,
    is_strong_key,
)

WEAK_KEYS = {
    "the development key": DEVELOPMENT_PSEUDONYM_KEY,
    "blank": " ",
    "one character": "x",
    "63 hex characters": secrets.token_hex(32)[:63],
    "one character repeated": "a" * 64,
    "a short passphrase": "correct horse battery staple",
}


@pytest.fixture
def production(monkeypatch, data_dir):
    monkeypatch.setenv("COMMONGROUND_ENV", "production")
    return monkeypatch


@pytest.mark.parametrize("key", WEAK_KEYS.values(), ids=WEAK_KEYS.keys())
def test_production_refuses_a_weak_key_naming_the_variable_and_keygen(production, key):
    production.setenv("COMMONGROUND_PSEUDONYM_KEY", key)
    with pytest.raises(WeakSecretError, match="COMMONGROUND_PSEUDONYM_KEY") as raised:
        get_settings()
    assert isinstance(raised.value, MissingSecretError)
    assert "commonground keygen" in str(raised.value)
    result = CliRunner().invoke(app, ["prepare"])
    assert result.exit_code == 2
    assert "COMMONGROUND_PSEUDONYM_KEY" in result.output
    assert "commonground keygen" in result.output


def test_production_without_a_key_points_to_keygen(production):
    production.delenv("COMMONGROUND_PSEUDONYM_KEY", raising=False)
    result = CliRunner().invoke(app, ["prepare"])
    assert result.exit_code == 2
    assert "commonground keygen" in result.output


def test_keygen_works_in_production_without_a_key_and_its_key_is_accepted(production, tmp_path):
    production.delenv("COMMONGROUND_PSEUDONYM_KEY", raising=False)
    production.chdir(tmp_path)
    keys = []
    for _ in range(2):
        result = CliRunner().invoke(app, ["keygen"])
        assert result.exit_code == 0, result.output
        key = result.stdout.strip()
        assert re.fullmatch(r"[0-9a-f]{64}", key), result.stdout
        assert "COMMONGROUND_PSEUDONYM_KEY" in result.stderr
        keys.append(key)
    assert keys[0] != keys[1]
    # Printed, never stored: nothing was written in the working or data directory.
    assert not [p for p in tmp_path.rglob("*") for key in keys if key in _text(p)]
    production.setenv("COMMONGROUND_PSEUDONYM_KEY", keys[0])
    assert get_settings().pseudonym_key == keys[0]


def _text(path) -> str:
    return path.read_text(errors="replace") if path.is_file() else ""


@pytest.mark.parametrize(
    "key",
    [secrets.token_hex(32), secrets.token_urlsafe(32), secrets.token_bytes(32).hex().upper()],
    ids=["hex", "base64url", "upper-case hex"],
)
def test_keys_with_256_bits_are_strong(key):
    assert is_strong_key(key)


def test_development_still_accepts_any_key(monkeypatch, data_dir):
    monkeypatch.delenv("COMMONGROUND_ENV", raising=False)
    monkeypatch.setenv("COMMONGROUND_PSEUDONYM_KEY", "x")
    assert get_settings().pseudonym_key == "x"
