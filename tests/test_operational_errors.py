"""Operational faults end with one line naming the cause and what to do, never a traceback."""

from __future__ import annotations

import errno
import os
import secrets
import sqlite3
import subprocess
import sys

import duckdb
import pytest

from orchestration import runner
from orchestration.cli import run_command
from orchestration.cli.pipeline import _print_summary
from orchestration.faults import explain, explain_chain
from orchestration.runner import RunSummary

LOCK_MESSAGE = (
    'IO Error: Could not set lock on file "{path}": Conflicting lock is held in '
    "/usr/bin/python3 (PID 4242). See also https://duckdb.org/docs/current/connect/concurrency"
)

SHARE = ["share", "desnz-warm-homes-targeting", "--on", "2026-06-01"]
"""A share under an agreement that is valid on the given date."""

FAULTS = {
    "disk full (OSError)": (OSError(errno.ENOSPC, "No space left on device"), "disk is full"),
    "disk full (sqlite)": (sqlite3.OperationalError("disk I/O error"), "disk is full"),
    "disk full (duckdb)": (
        duckdb.IOException("IO Error: Could not write file: No space left on device"),
        "disk is full",
    ),
    "out of memory (duckdb)": (
        duckdb.OutOfMemoryException("Out of Memory Error: failed to allocate data of size 1GB"),
        "Out of memory",
    ),
    "out of memory (Python)": (MemoryError(), "Out of memory"),
    "locked": (duckdb.IOException(LOCK_MESSAGE.format(path="/x/warehouse.duckdb")), "locked"),
}


def _fail_with(monkeypatch, exc: BaseException) -> None:
    """Makes the pipeline run fail with ``exc`` just after it starts."""

    def fail(force: bool = False):
        raise exc

    monkeypatch.setattr(runner, "ensure_manifest", fail)


def _one_line(err: str, words: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert words.lower() in lines[0].lower(), err
    return lines[0]


@pytest.mark.parametrize("exc, words", FAULTS.values(), ids=FAULTS.keys())
def test_a_fault_ends_with_one_line_and_no_traceback(data_dir, monkeypatch, capsys, exc, words):
    _fail_with(monkeypatch, exc)
    assert run_command(["run"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    line = _one_line(err, words)
    assert "run again" in line


def test_debug_shows_the_traceback(data_dir, monkeypatch, capsys):
    _fail_with(monkeypatch, OSError(errno.ENOSPC, "No space left on device"))
    assert run_command(["--debug", "run"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert "disk is full" in err


def test_a_bug_still_shows_its_traceback(data_dir, monkeypatch, capsys):
    _fail_with(monkeypatch, KeyError("not an operational fault"))
    assert run_command(["run"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_a_data_dir_that_is_a_file(tmp_path, monkeypatch, capsys):
    path = tmp_path / "data"
    path.write_text("not a folder")
    monkeypatch.setenv("COMMONGROUND_DATA_DIR", str(path))
    assert run_command(["run"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "COMMONGROUND_DATA_DIR" in _one_line(err, f"{path} is a file")


def test_a_data_dir_that_cannot_be_created(tmp_path, monkeypatch, capsys):
    (tmp_path / "blocker").write_text("a file where a folder should be")
    monkeypatch.setenv("COMMONGROUND_DATA_DIR", str(tmp_path / "blocker" / "data"))
    assert run_command(["run"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    _one_line(err, "cannot be created")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads and writes any folder")
def test_an_unreadable_data_dir(data_dir, monkeypatch, capsys):
    data_dir.chmod(0)
    try:
        assert run_command(["run"]) == 1
    finally:
        data_dir.chmod(0o755)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    _one_line(err, "not readable and writable")


def test_a_missing_data_dir_for_share(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COMMONGROUND_DATA_DIR", str(tmp_path / "nowhere" / "data"))
    assert run_command(SHARE) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    _one_line(err, "data directory cannot be used")


@pytest.fixture
def locked_warehouse(data_dir):
    """The warehouse held open for writing by another process."""
    warehouse = data_dir / "warehouse.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, time\n"
            f"con = duckdb.connect({str(warehouse)!r})\n"
            "print('locked', flush=True)\n"
            "time.sleep(300)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield warehouse
    finally:
        holder.kill()
        holder.wait()


def test_share_with_the_warehouse_locked_by_another_process(locked_warehouse, monkeypatch):
    monkeypatch.setenv("COMMONGROUND_PSEUDONYM_KEY", secrets.token_hex(32))
    result = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *SHARE],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    line = _one_line(result.stderr, "locked by another process")
    assert str(locked_warehouse) in line


def test_run_with_the_warehouse_locked_by_another_process(locked_warehouse, monkeypatch, capsys):
    # Dagster's DuckDB resource retries a locked file for about two minutes; once is enough.
    import dagster_duckdb.resource

    real_backoff = dagster_duckdb.resource.backoff
    monkeypatch.setattr(
        dagster_duckdb.resource,
        "backoff",
        lambda **kwargs: real_backoff(**{**kwargs, "max_retries": 0}),
    )
    # A held lock is transient: the step is retried (waits shortened here) before it fails.
    monkeypatch.setattr("orchestration.defs.resources.TRANSIENT_FIRST_WAIT_SECONDS", 0.01)
    assert run_command(["run"]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert "Stack Trace" not in captured.err + captured.out
    locked = [line for line in captured.out.splitlines() if "locked by another process" in line]
    assert len(locked) == 1, captured.out
    assert str(locked_warehouse) in locked[0]


def test_a_step_that_failed_for_an_operational_reason_is_explained(capsys, data_dir):
    summary = RunSummary(run_id="r1", success=False, seconds=1.0, failed_steps=["raw__x"])
    summary.step_errors["raw__x"] = [
        ("DagsterExecutionStepExecutionError", 'Error occurred while executing op "raw__x"'),
        ("IOException", LOCK_MESSAGE.format(path="/d/warehouse.duckdb")),
    ]
    _print_summary(summary)
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if "locked" in line] == [
        "Error: /d/warehouse.duckdb is locked by another process (PID 4242): wait for it to "
        "finish or stop it (another pipeline run, the Dagster UI, an open DuckDB session), "
        "then run again."
    ]


def test_other_errors_are_not_explained():
    assert explain(ValueError("bad value")) is None
    assert explain_chain([("KeyError", "'x'")]) is None
    wrapped = RuntimeError("step failed")
    wrapped.__cause__ = MemoryError()
    assert "Out of memory" in explain(wrapped)
