"""The warehouse writer lease: one process writes the warehouse at a time, the others wait.

DuckDB lets one process open a database file for writing; a second one fails at once with
"Conflicting lock is held". Every run that writes the warehouse (a Dagster run launched by
the daemon, the UI, a schedule or a sensor, and ``commonground run``) first takes this
lease: an exclusive ``flock`` on ``<data dir>/state/warehouse.lock``, held for the whole run.
A second writer waits for it (up to a timeout) instead of failing on the database lock.

The lock belongs to the open file, so the operating system releases it when its process
ends, however it ends: a crashed run never leaves the warehouse locked. Within one process
the lease is re-entrant (the CLI holds it while the run it starts takes it again). The file
records who holds it (process, run, since when) so a waiting writer can say what it waits
for.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

POLL_SECONDS = 0.5


class WarehouseBusyError(TimeoutError):
    """Another process held the warehouse for longer than this one would wait."""


@dataclass(frozen=True)
class Holder:
    """Who holds the lease, as its holder wrote it."""

    pid: int
    run_id: str
    purpose: str
    since: str

    def describe(self) -> str:
        """``run <id> (<purpose>, PID <pid>, since <time>)``."""
        run = f"run {self.run_id}" if self.run_id else "a process"
        return f"{run} ({self.purpose}, PID {self.pid}, since {self.since})"


def lease_path(data_dir: Path) -> Path:
    """The lock file of the warehouse under ``data_dir``."""
    return data_dir / "state" / "warehouse.lock"


def read_holder(path: Path) -> Holder | None:
    """The holder recorded in the lock file (None when there is none or it is unreadable)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8") or "{}")
        return Holder(
            pid=int(record["pid"]),
            run_id=str(record.get("run_id", "")),
            purpose=str(record.get("purpose", "")),
            since=str(record.get("since", "")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


class _Held:
    """This process's hold on one lock file: the open file and how many times it is held."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.count = 0


_held: dict[str, _Held] = {}
_guard = threading.RLock()


def holds_lease(data_dir: Path) -> bool:
    """Whether this process holds the warehouse lease."""
    with _guard:
        return str(lease_path(data_dir).resolve()) in _held


@contextmanager
def warehouse_lease(
    data_dir: Path,
    *,
    wait_seconds: float,
    run_id: str = "",
    purpose: str = "writing the warehouse",
    on_wait: Callable[[Holder | None], None] | None = None,
) -> Iterator[None]:
    """Holds the warehouse lease for the ``with`` block, waiting for it if need be.

    Args:
        data_dir: The data directory whose warehouse is written.
        wait_seconds: How long to wait for another holder (0: do not wait).
        run_id: The Dagster run taking the lease, recorded for whoever waits.
        purpose: What the holder does, recorded for whoever waits.
        on_wait: Called once, with the current holder, if the lease is busy.

    Raises:
        WarehouseBusyError: The lease was still held by another process after
            ``wait_seconds``; the message names the holder.
    """
    path = lease_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = str(path.resolve())
    with _guard:
        held = _held.get(key)
        if held is not None:
            held.count += 1
    if held is None:
        held = _acquire(path, wait_seconds, run_id, purpose, on_wait)
        with _guard:
            held.count = 1
            _held[key] = held
    try:
        yield
    finally:
        with _guard:
            held.count -= 1
            if held.count == 0:
                del _held[key]
                _release(held)


def _acquire(
    path: Path,
    wait_seconds: float,
    run_id: str,
    purpose: str,
    on_wait: Callable[[Holder | None], None] | None,
) -> _Held:
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held until released
    deadline = time.monotonic() + wait_seconds
    told = False
    try:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = read_holder(path)
                if time.monotonic() >= deadline:
                    who = holder.describe() if holder else "another process"
                    raise WarehouseBusyError(
                        f"The warehouse is being written by {who}; waited "
                        f"{wait_seconds:g}s for it. Run again when it has finished, or set "
                        "COMMONGROUND_WRITER_WAIT_SECONDS to wait longer."
                    ) from None
                if on_wait is not None and not told:
                    on_wait(holder)
                    told = True
                time.sleep(POLL_SECONDS)
        handle.seek(0)
        handle.truncate()
        handle.write(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "run_id": run_id,
                    "purpose": purpose,
                    "since": datetime.now(UTC).isoformat(timespec="seconds"),
                }
            )
        )
        handle.flush()
    except BaseException:
        handle.close()
        raise
    return _Held(handle)


def _release(held: _Held) -> None:
    try:
        held.handle.seek(0)
        held.handle.truncate()
        held.handle.flush()
    finally:
        fcntl.flock(held.handle.fileno(), fcntl.LOCK_UN)
        held.handle.close()
