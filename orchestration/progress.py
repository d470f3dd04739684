"""What a headless run shows while it works: steps by stage, and its log kept in a file.

A run prints nothing but its progress: :func:`progress_logger` is a Dagster logger that
hands each step's start, success, failure and skip to a callback (the CLI draws a progress
display from it), and :func:`captured_output` sends everything else a run writes (dbt's
log lines, which dagster-dbt copies to standard output, Dagster's and Splink's log records)
to a log file under the data directory, which the CLI shows the end of when a run fails.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import dagster as dg

STEP_EVENTS = frozenset({"STEP_START", "STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"})

StepCallback = Callable[[str, str], None]
"""Called with ``(event type, step key)`` for each step event of a run."""

STAGES = (
    ("Ingest", ("raw__", "governance__ingestion_log", "governance__contracts")),
    ("Transform (dbt)", ("dbt_",)),
    ("Linkage", ("linkage__",)),
    ("Governance", ("governance__",)),
    ("Publish", ("published__",)),
)
"""Stages of a run by the prefixes of their steps' names (first match wins); quality checks
on any layer count as ``Quality``."""

STAGE_NAMES = ("Ingest", "Transform (dbt)", "Linkage", "Quality", "Governance", "Publish")
"""The stages in the order a run goes through them."""


def stage_of(step_key: str) -> str:
    """The stage a step belongs to (``Quality`` for checks, ``Other`` when none fits)."""
    if "_checks" in step_key or "freshness_check" in step_key:
        return "Quality"
    for stage, prefixes in STAGES:
        if step_key.startswith(prefixes):
            return stage
    return "Other"


class _Relay(logging.Handler):
    """Passes the step events among a run's log records to a callback."""

    def __init__(self, callback: StepCallback) -> None:
        super().__init__(level=logging.DEBUG)
        self.callback = callback

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event") if isinstance(meta, dict) else None
        if event is None or event.event_type_value not in STEP_EVENTS or not event.step_key:
            return
        try:
            self.callback(event.event_type_value, event.step_key)
        except Exception:  # a display must never fail a run
            logging.getLogger(__name__).debug("progress callback failed", exc_info=True)


def progress_logger(callback: StepCallback) -> dg.LoggerDefinition:
    """A Dagster logger that reports every step event of a run to ``callback``."""

    @dg.logger(description="Reports step events to the headless runner's progress display.")
    def _progress(init_context: dg.InitLoggerContext) -> logging.Logger:
        relay = logging.Logger("commonground.progress", level=logging.DEBUG)
        relay.addHandler(_Relay(callback))
        return relay

    return _progress


def log_path(data_dir: Path) -> Path:
    """The file a run's output goes to: ``<data dir>/logs/pipeline.log``."""
    return data_dir / "logs" / "pipeline.log"


@contextlib.contextmanager
def captured_output(path: Path) -> Iterator[TextIO]:
    """Sends what runs write to standard output, and every log record, to ``path``.

    Standard output and error are redirected at the Python level (dbt's lines come through
    dagster-dbt that way; Dagster's console logger writes to the standard error it finds when
    a run starts) and the root logger's handlers are swapped for one writing to the file; all
    are put back afterwards. Output appends, under a header with the time.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    with open(path, "a", encoding="utf-8") as log:
        log.write(f"\n===== run started {datetime.now(UTC).isoformat(timespec='seconds')} =====\n")
        log.flush()
        handler = logging.StreamHandler(log)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        saved = root.handlers[:]
        root.handlers = [handler]
        try:
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                yield log
        finally:
            root.handlers = saved
            sys.stdout.flush()


def tail(path: Path, lines: int = 30) -> list[str]:
    """The last ``lines`` lines of the run log (none when it is missing)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]
