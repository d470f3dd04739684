"""The command line as a user runs it: a separate process, its exit code and what it prints."""

from __future__ import annotations

import os
import re
import subprocess
import sys


def test_a_command_exits_cleanly_without_teardown_warnings(data_dir):
    # `prepare` loads dbt's adapter in-process, which makes multiprocessing semaphores; the
    # CLI exits without interpreter teardown, so it must release them itself.
    result = subprocess.run(
        [sys.executable, "-c", "from orchestration.cli import main; main()", "prepare"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "dbt project parsed." in result.stdout
    assert "leaked" not in result.stderr, result.stderr


def test_keygen_prints_only_a_fresh_key_on_stdout_even_in_production(tmp_path):
    env = {**os.environ, "COMMONGROUND_ENV": "production", "COMMONGROUND_DATA_DIR": str(tmp_path)}
    env.pop("COMMONGROUND_PSEUDONYM_KEY", None)
    keys = set()
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-m", "orchestration.cli", "keygen"],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert result.returncode == 0, result.stderr
        assert re.fullmatch(r"[0-9a-f]{64}\n", result.stdout), result.stdout
        assert "COMMONGROUND_PSEUDONYM_KEY" in result.stderr
        keys.add(result.stdout)
    assert len(keys) == 2
    assert list(tmp_path.iterdir()) == []


def test_debug_is_a_global_option():
    result = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0
    assert "--debug" in result.stdout
    assert "keygen" in result.stdout
