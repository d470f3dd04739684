"""The command line as a user runs it: a separate process, its exit code and what it prints."""

from __future__ import annotations

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
